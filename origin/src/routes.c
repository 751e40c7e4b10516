/*
 * routes.c - every route of the origin, one line each (see http.h for
 * what the router does with a line). Paths not listed here and not under
 * /v1/ are the dashboard's files (GET only); other /v1/ paths are 404.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "http.h"

/* {"ok":true,"db":"sqlite"}; 503 with the reason while the database is
 * unreachable (PostgreSQL), so a load balancer sends traffic elsewhere. */
static void healthz(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    (void)r;
    char why[256];
    int down = dni__store_down(o->store, why, sizeof why);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "ok", !down);
    cJSON_AddStringToObject(j, "db", dni__store_kind(o->store));
    if (down)
        cJSON_AddStringToObject(j, "error", why);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    dni__resp_take(resp, down ? 503 : 200, s, s ? strlen(s) : 0,
                   "application/json");
}

static void metrics(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    (void)r;
    char *s = dni__metrics_render(o->store);
    dni__resp_take(resp, 200, s, s ? strlen(s) : 0,
                   "text/plain; version=0.0.4");
}

/* One call: its record (calls.c), or a person's change of its match
 * (call_review.c). */
static void call_one(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    if (!strcmp(r->method, "PATCH"))
        dni__call_patch(o, r, resp);
    else
        dni__call_show(o, r->id, resp);
}

const dni_route_t dni__routes[] = {
    /* path                     methods             access              handler */
    {"/healthz",                "GET",              DNI_ACCESS_OPEN,    healthz},
    {"/metrics",                "GET",              DNI_ACCESS_OPEN,    metrics},
    {"/v1/edge/sync",           "POST",             DNI_ACCESS_EDGE,    dni__sync_handle},
    {"/v1/webhooks/call",       "POST",             DNI_ACCESS_WEBHOOK, dni__webhook_handle},
    {"/v1/pools",               "GET POST",         DNI_ACCESS_ADMIN,   dni__pools_handle},
    {"/v1/pools/{id}",          "GET PATCH DELETE", DNI_ACCESS_ADMIN,   dni__pools_handle},
    {"/v1/param-map",           "GET PUT",          DNI_ACCESS_ADMIN,   dni__param_map_handle},
    {"/v1/calls",               "GET",              DNI_ACCESS_ADMIN,   dni__calls_handle},
    {"/v1/calls/{id}",          "GET PATCH",        DNI_ACCESS_ADMIN,   call_one},
    {"/v1/reports/pools/{id}",  "GET",              DNI_ACCESS_ADMIN,   dni__report_handle},
    {"/v1/pools/{id}/trace",    "GET",              DNI_ACCESS_ADMIN,   dni__trace_handle},
    {"/v1/leases",              "GET",              DNI_ACCESS_ADMIN,   dni__leases_handle},
    {"/v1/voice",               "POST",             DNI_ACCESS_WEBHOOK, dni__voice_handle},
    {"/v1/pools/{id}/events",   "GET",              DNI_ACCESS_ADMIN,   dni__pool_events_handle},
    {"/v1/pools/{id}/numbers",  "GET",              DNI_ACCESS_ADMIN,   dni__pool_numbers_handle},
    {"/v1/tools/page",          "GET",              DNI_ACCESS_ADMIN,   dni__page_fetch_handle},
    {"/v1/pools/{id}/scale-down", "POST",           DNI_ACCESS_ADMIN,   dni__pool_scale_down_handle},
    {"/v1/inventory",           "GET POST",         DNI_ACCESS_ADMIN,   dni__inventory_handle},
    {"/v1/inventory/{id}",      "DELETE",           DNI_ACCESS_ADMIN,   dni__inventory_handle},
    {"/v1/providers/{id}/available", "GET",         DNI_ACCESS_ADMIN,   dni__provider_available_handle},
};

const int dni__route_count = (int)(sizeof dni__routes / sizeof dni__routes[0]);
