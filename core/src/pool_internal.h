/*
 * pool_internal.h - the lease engine's data layout, shared by pool.c (the
 * operations) and pool_snapshot.c (the byte format that saves and restores
 * an engine). Not public: nothing outside core/src includes it.
 */
#ifndef DNI_POOL_INTERNAL_H
#define DNI_POOL_INTERNAL_H

#include "dni.h"

/* "no slot" in links and tables. */
#define DNI__POOL_NONE UINT32_MAX

/* Number slot states. */
enum { NUM_UNUSED = 0, NUM_FRESH, NUM_RELEASED, NUM_LEASED, NUM_CALL_ONLY };
/* Number slot flags. */
enum { NUMF_REMOVING = 1, NUMF_STICKY = 2 };

typedef struct pool_num {
    uint64_t digits;      /* E.164 digits as an integer; 0: unused slot */
    uint64_t sticky_hash; /* key hash of the last lease (NUMF_STICKY) */
    double released_at;   /* when its last lease ended */
    uint32_t prev, next;  /* free list links (next: slot free list too) */
    uint32_t lease;       /* lease slot while leased, else NONE */
    uint32_t last_lease;  /* id of its last lease, 0 if never leased */
    uint16_t calls;       /* calls in progress */
    uint8_t state;
    uint8_t flags;
} pool_num_t;

typedef struct pool_lease {
    uint64_t hash;
    double start, last_seen, last_join;
    uint32_t id;
    uint32_t num;     /* number slot; next free lease slot when unused */
    uint32_t key_len;
    uint32_t joins;
    uint8_t pinned;   /* its time is over but a call holds it */
    uint8_t in_heap;
    uint8_t confirmed; /* a heartbeat, leave or second assign was seen */
    union {
        char in[DNI_POOL_KEY_INLINE];
        char *out;
    } key;
} pool_lease_t;

typedef struct pool_timer {
    double due;
    uint32_t lease; /* lease slot */
    uint32_t id;    /* lease id: the tie-break for equal deadlines */
} pool_timer_t;

typedef struct pool_table {
    uint32_t *slots; /* NONE when empty */
    uint32_t mask;   /* capacity - 1 (capacity a power of two) */
} pool_table_t;

typedef struct pool_list {
    uint32_t head, tail;
} pool_list_t;

struct dni_pool {
    dni_pool_settings_t s;
    dni_allocator_t alloc;
    double now;

    pool_num_t *nums;
    uint32_t num_cap, num_used, num_free_slot; /* num_used: slots in use */
    pool_list_t fresh, released;
    uint32_t free_count;

    pool_lease_t *leases;
    uint32_t lease_cap, lease_free_slot, live;
    uint32_t next_id;

    pool_timer_t *heap;
    uint32_t heap_len;

    pool_table_t num_tab, stk_tab, key_tab, id_tab;

    char default_e164[DNI_E164_SIZE];
    char overflow_e164[DNI_E164_SIZE];

    int events_on;
    dni_pool_event_t *events;
    size_t ev_len, ev_cap;

    dni_pool_stats_t st;
};

/* The four hash tables, by kind. */
enum { TAB_NUM, TAB_STK, TAB_KEY, TAB_ID };

/*
 * Gives an empty pool (no numbers, no leases) arrays of exactly num_cap
 * number slots and lease_cap lease slots (powers of two, >= 16), all
 * unused and chained in slot order, with empty tables sized for them.
 * DNI_OK or DNI_ENOMEM (the pool is then unusable: destroy it).
 */
int dni__pool_shape(dni_pool_t *p, uint32_t num_cap, uint32_t lease_cap);

/* Inserts slot into the table of kind (its hash read from the slot). */
void dni__pool_table_insert(dni_pool_t *p, int kind, uint32_t slot);

/* Appends a free number to a free list (fresh or released). */
void dni__pool_list_append(dni_pool_t *p, pool_list_t *l, uint32_t slot);

/* Schedules lease slot ls at due. The heap has room for lease_cap. */
void dni__pool_heap_push(dni_pool_t *p, double due, uint32_t ls);

/* The number slot with these digits, the lease slot with this key or id,
 * the number slot whose sticky hash is h; NONE when there is none. */
uint32_t dni__pool_num_find(const dni_pool_t *p, uint64_t digits);
uint32_t dni__pool_key_find(const dni_pool_t *p, const char *key, size_t len,
                            uint64_t h);
uint32_t dni__pool_id_find(const dni_pool_t *p, uint32_t id);
uint32_t dni__pool_sticky_find(const dni_pool_t *p, uint64_t h);

/* The hash the engine keys leases by. */
uint64_t dni__pool_key_hash(const char *key, size_t len);

/* Strict E.164 text <-> digits as an integer (0: not a number). */
uint64_t dni__pool_e164_digits(const char *e164, size_t len);
void dni__pool_digits_e164(uint64_t d, char out[DNI_E164_SIZE]);

/* The key bytes of a live lease. */
const char *dni__pool_lease_key(const pool_lease_t *l);

#endif /* DNI_POOL_INTERNAL_H */
