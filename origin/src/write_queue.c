/*
 * write_queue.c - requests hand their write jobs to the writer thread,
 * which runs them in batches (see write_queue.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "write_queue.h"

void dni__queue_init(dni_write_queue_t *q)
{
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->work_cv, NULL);
    q->head = q->tail = NULL;
    q->stopping = 0;
    q->commits = q->jobs = 0;
}

void dni__queue_destroy(dni_write_queue_t *q)
{
    pthread_cond_destroy(&q->work_cv);
    pthread_mutex_destroy(&q->mu);
}

int dni__queue_submit(dni_write_queue_t *q, dni_job_fn fn, void *arg)
{
    dni_job_t job;
    job.fn = fn;
    job.arg = arg;
    job.status = 0;
    job.next = NULL;
    if (sem_init(&job.done, 0, 0) != 0)
        return 500;
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = &job;
    else
        q->head = &job;
    q->tail = &job;
    pthread_cond_signal(&q->work_cv);
    pthread_mutex_unlock(&q->mu);
    while (sem_wait(&job.done) != 0)
        ; /* EINTR: wait on */
    sem_destroy(&job.done);
    return job.status;
}

void dni__queue_serve(dni_write_queue_t *q,
                      void (*run_batch)(void *ctx, dni_job_t *batch),
                      void *ctx)
{
    dni__queue_serve_turns(q, NULL, run_batch, ctx);
}

void dni__queue_serve_turns(dni_write_queue_t *q, void (*take_turn)(void *ctx),
                            void (*run_batch)(void *ctx, dni_job_t *batch),
                            void *ctx)
{
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->head && !q->stopping)
            pthread_cond_wait(&q->work_cv, &q->mu);
        if (!q->head && q->stopping)
            break;
        if (take_turn) {
            /* Only this thread takes jobs: the queue is not empty after. */
            pthread_mutex_unlock(&q->mu);
            take_turn(ctx);
            pthread_mutex_lock(&q->mu);
        }
        dni_job_t *batch = q->head;
        q->head = q->tail = NULL;
        pthread_mutex_unlock(&q->mu);

        run_batch(ctx, batch);

        /* Counted before anyone is answered, so a client that got its
         * answer sees its job in the metrics. */
        uint64_t n = 0;
        for (dni_job_t *j = batch; j; j = j->next)
            n++;
        pthread_mutex_lock(&q->mu);
        q->commits++;
        q->jobs += n;
        pthread_mutex_unlock(&q->mu);
        for (dni_job_t *j = batch; j;) {
            dni_job_t *next = j->next; /* j may be gone once posted */
            sem_post(&j->done);
            j = next;
        }
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
}

void dni__queue_stop(dni_write_queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_signal(&q->work_cv);
    pthread_mutex_unlock(&q->mu);
}

void dni__queue_counts(dni_write_queue_t *q, uint64_t *commits,
                       uint64_t *jobs)
{
    pthread_mutex_lock(&q->mu);
    *commits = q->commits;
    *jobs = q->jobs;
    pthread_mutex_unlock(&q->mu);
}
