/*
 * ruleset.c - the rules a rewriter applies: default number -> replacement,
 * with an optional display template.
 */
#include <stdio.h>
#include <string.h>

#include "dni.h"

void dni_ruleset_init(dni_ruleset_t *rs)
{
    memset(rs, 0, sizeof *rs);
}

static size_t count_hashes(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '#';
    return n;
}

int dni_ruleset_add(dni_ruleset_t *rs, const dni_phone_t *from,
                    const dni_phone_t *to, const char *template_)
{
    if (rs == NULL || from == NULL || to == NULL || from->e164[0] != '+' ||
        to->e164[0] != '+')
        return DNI_EINVAL;
    if (template_ == NULL)
        template_ = "";
    size_t tlen = strlen(template_);
    if (tlen > DNI_MAX_TEMPLATE ||
        (tlen > 0 && count_hashes(template_) != strlen(to->e164) - 1))
        return DNI_ETEMPLATE;
    for (size_t i = 0; i < rs->count; i++) {
        if (strcmp(rs->rules[i].from.e164, from->e164) == 0)
            return DNI_EEXISTS;
    }
    if (rs->count == DNI_MAX_RULES)
        return DNI_ELIMIT;
    dni_rule_t *r = &rs->rules[rs->count++];
    r->from = *from;
    r->to = *to;
    memcpy(r->template_, template_, tlen + 1);
    return DNI_OK;
}

int dni_ruleset_add_spec(dni_ruleset_t *rs, const char *spec,
                         const char *country, char *why, size_t why_len)
{
    char dummy[1];
    if (why == NULL || why_len == 0) {
        why = dummy;
        why_len = sizeof dummy;
    }
    why[0] = '\0';
    if (rs == NULL || spec == NULL)
        return DNI_EINVAL;

    const char *eq = strchr(spec, '=');
    if (eq == NULL) {
        snprintf(why, why_len, "rule '%s' is not DEFAULT=REPLACEMENT", spec);
        return DNI_ESYNTAX;
    }
    const char *at = strchr(eq + 1, '@');
    size_t to_len = at ? (size_t)(at - eq - 1) : strlen(eq + 1);
    const char *template_ = at ? at + 1 : "";

    dni_phone_t from, to;
    int rc = dni_phone_parse(&from, spec, (size_t)(eq - spec), country);
    if (rc == DNI_ECOUNTRY) {
        snprintf(why, why_len, "unknown country '%s'", country);
        return rc;
    }
    if (rc != DNI_OK) {
        snprintf(why, why_len, "rule '%s': '%.*s' is not a phone number",
                 spec, (int)(eq - spec), spec);
        return rc;
    }
    rc = dni_phone_parse(&to, eq + 1, to_len, country);
    if (rc != DNI_OK) {
        snprintf(why, why_len, "rule '%s': '%.*s' is not a phone number",
                 spec, (int)to_len, eq + 1);
        return rc;
    }
    rc = dni_ruleset_add(rs, &from, &to, template_);
    if (rc == DNI_ETEMPLATE)
        snprintf(why, why_len,
                 "rule '%s': template '%s' needs exactly %zu '#' for %s "
                 "(at most %d bytes)",
                 spec, template_, strlen(to.e164) - 1, to.e164,
                 DNI_MAX_TEMPLATE);
    else if (rc == DNI_EEXISTS)
        snprintf(why, why_len, "rule '%s': %s already has a rule", spec,
                 from.e164);
    else if (rc == DNI_ELIMIT)
        snprintf(why, why_len, "rule '%s': at most %d rules", spec,
                 DNI_MAX_RULES);
    return rc;
}
