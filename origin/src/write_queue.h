/*
 * write_queue.h - the queue between the requests that write and the one
 * writer thread that commits their jobs in groups, whichever database is
 * behind it.
 *
 * A request submits its job and sleeps; the writer takes every job queued
 * since its last turn as one batch, hands the batch to its backend's
 * run_batch (one transaction, a savepoint per job), and wakes the batch's
 * requests only once that returned, i.e. once the commit is on disk.
 * Each waiter has its own semaphore: one shared condition variable would
 * wake every waiting request at every commit.
 */
#ifndef DNI_WRITE_QUEUE_H
#define DNI_WRITE_QUEUE_H

#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>

#include "store.h"

/* A queued job; it lives on its waiter's stack. run_batch sets status. */
typedef struct dni_job {
    dni_job_fn fn;
    void *arg;
    int status;
    sem_t done;
    struct dni_job *next;
} dni_job_t;

typedef struct dni_write_queue {
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* the writer waits for jobs */
    dni_job_t *head, *tail;
    int stopping;
    uint64_t commits, jobs;
} dni_write_queue_t;

void dni__queue_init(dni_write_queue_t *q);
void dni__queue_destroy(dni_write_queue_t *q);

/* Queues fn(arg) and waits until its batch was run; returns its status
 * (500 when the job could not be queued). */
int dni__queue_submit(dni_write_queue_t *q, dni_job_fn fn, void *arg);

/* The writer thread's loop: runs batches through run_batch(ctx, batch)
 * until dni__queue_stop(), finishing every job queued before it. */
void dni__queue_serve(dni_write_queue_t *q,
                      void (*run_batch)(void *ctx, dni_job_t *batch),
                      void *ctx);

/* The same, for a database shared with other processes' writers:
 * take_turn(ctx) is called once jobs are waiting, before they are taken
 * (it may wait for the other writers), so the batch then holds every job
 * queued until the turn came. */
void dni__queue_serve_turns(dni_write_queue_t *q, void (*take_turn)(void *ctx),
                            void (*run_batch)(void *ctx, dni_job_t *batch),
                            void *ctx);

void dni__queue_stop(dni_write_queue_t *q);

/* Batches run (commits) and jobs in them so far. */
void dni__queue_counts(dni_write_queue_t *q, uint64_t *commits,
                       uint64_t *jobs);

#endif /* DNI_WRITE_QUEUE_H */
