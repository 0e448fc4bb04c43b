/* Worker processes: the `larch worker` side (load once, train jobs from a socket) and the
 * coordinator's pool (spawn, dispatch, collect, replace the dead). */
#define _GNU_SOURCE /* SOCK_CLOEXEC, F_DUPFD_CLOEXEC */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <larch/abi.h>
#include <larch/nn.h>
#include <larch/strategy.h>

#include "config.h"
#include "loader.h"

extern char **environ;

/* Test hook: a worker given the job with this id kills itself (SIGKILL), so the suite can check
 * how the pool handles a crash. Never set outside tests. */
#define CRASH_ENV "LARCH_TEST_CRASH_JOB"

uint64_t host_worker_config_hash(const char *config_text)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (const char *c = config_text ? config_text : ""; *c; c++) {
        h ^= (uint8_t)*c;
        h *= 0x100000001b3u;
    }
    return h;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Writes all n bytes (EINTR and short writes retried); 0 or -1 with errno. MSG_NOSIGNAL: a dead
 * peer is an EPIPE error, not a SIGPIPE that kills the coordinator. */
static int send_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads exactly n bytes; 1 on success, 0 at end of input before the first byte, -1 on error or
 * a truncated record. */
static int recv_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, p + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            return got == 0 ? 0 : -1;
        got += (size_t)k;
    }
    return 1;
}

/* ---- the worker ---- */

/* Every descriptor above 2 is the coordinator's (an HDF5 file, other workers' sockets): a
 * worker holding them would keep files locked and sockets open after the coordinator closes
 * them. */
static void close_inherited(void)
{
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = 3; fd < max; fd++)
        close(fd);
}

typedef struct worker_state {
    host_config cfg;
    host_registry reg;
    const larch_opset_vtable *opset;
    larch_space space;
    trainer_data data;
    trainer_input_shape input;
} worker_state;

static int worker_start(worker_state *ws, int argc, char **argv, larch_error *err)
{
    const char *config_path = NULL, *extra = NULL;
    const char **overrides = calloc((size_t)argc + 1, sizeof *overrides);
    size_t n_overrides = 0;
    if (!overrides)
        return larch_error_set(err, LARCH_ENOMEM, "worker: out of memory");
    int rc = LARCH_OK;
    for (int i = 0; i < argc && rc == LARCH_OK; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc)
            overrides[n_overrides++] = argv[++i];
        else if (!strcmp(argv[i], "--plugin-path") && i + 1 < argc)
            extra = argv[++i];
        else if (!config_path && argv[i][0] != '-')
            config_path = argv[i];
        else
            rc = larch_error_set(err, LARCH_EINVAL, "worker: unexpected argument '%s'", argv[i]);
    }
    if (rc == LARCH_OK && !config_path)
        rc = larch_error_set(err, LARCH_EINVAL, "worker: expected a CONFIG file");
    if (rc == LARCH_OK)
        rc = host_config_load(&ws->cfg, config_path, overrides, n_overrides, err);
    free(overrides);
    if (rc != LARCH_OK)
        return rc;

    char extra_dirs[2 * HOST_PATH_SIZE + 2];
    snprintf(extra_dirs, sizeof extra_dirs, "%s%s%s", extra ? extra : "",
             extra && ws->cfg.plugin_path[0] ? ":" : "", ws->cfg.plugin_path);
    char *dirs[32];
    size_t n_dirs = host_plugin_dirs(extra_dirs, dirs, 32);
    rc = host_registry_discover(&ws->reg, (const char *const *)dirs, n_dirs, err);
    host_plugin_dirs_free(dirs, n_dirs);
    if (rc != LARCH_OK)
        return rc;
    const host_plugin *p = host_registry_find(&ws->reg, LARCH_PLUGIN_OPSET, ws->cfg.opset);
    if (!p)
        return larch_error_set(err, LARCH_ENOTFOUND, "worker: no op-set plugin '%s' was found",
                               ws->cfg.opset);
    ws->opset = p->desc->opset;
    rc = trainer_cell_space(&ws->cfg.cell, ws->opset, &ws->space, err);
    if (rc != LARCH_OK)
        return rc;
    rc = trainer_data_load(&ws->data, &ws->cfg.data, err);
    if (rc != LARCH_OK)
        return rc;
    const trainer_dataset *train = &ws->data.train;
    ws->input = (trainer_input_shape){.c = train->c,
                                      .h = train->h,
                                      .w = train->w,
                                      .classes = train->classes,
                                      .max_batch = ws->cfg.recipe.batch};
    /* Parallelism comes from processes: one trainer thread each. */
    larch_nn_set_threads(1);
    return LARCH_OK;
}

static void worker_release(worker_state *ws)
{
    trainer_data_release(&ws->data);
    host_registry_release(&ws->reg);
    host_config_release(&ws->cfg);
}

static void run_job(worker_state *ws, const host_job *job, host_job_result *res)
{
    larch_error e = {0};
    trainer_network *net = NULL;
    int rc = larch_arch_validate(&ws->space, &job->arch, &e);
    if (rc == LARCH_OK)
        rc = trainer_network_new_cell(&ws->cfg.cell, ws->opset, &job->arch, &ws->input, job->seed,
                                      &net, &e);
    if (rc == LARCH_OK)
        rc = trainer_train(net, &ws->cfg.recipe, &ws->data, job->seed, &res->outcome, &e);
    trainer_network_free(net);
    res->rc = rc;
    if (rc != LARCH_OK) {
        memset(&res->outcome, 0, sizeof res->outcome);
        res->outcome.status = LARCH_TRIAL_FAILED;
        snprintf(res->message, sizeof res->message, "%s", e.message);
    }
}

int host_worker_main(int argc, char **argv, larch_error *err)
{
#ifdef __linux__
    /* A coordinator killed with -9 takes its workers along. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    close_inherited();
    /* The socket moves off fds 0 and 1: a stray printf must not corrupt the protocol. */
    int in = fcntl(0, F_DUPFD_CLOEXEC, 3), out = fcntl(1, F_DUPFD_CLOEXEC, 3);
    if (in < 0 || out < 0)
        return larch_error_set(err, LARCH_EIO, "worker: no protocol socket on stdin/stdout: %s",
                               strerror(errno));
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
        dup2(null_fd, 0);
        if (null_fd != 0)
            close(null_fd);
    }
    dup2(2, 1);

    host_job_result *res = calloc(1, sizeof *res);
    worker_state *ws = calloc(1, sizeof *ws);
    if (!res || !ws) {
        free(res);
        free(ws);
        return larch_error_set(err, LARCH_ENOMEM, "worker: out of memory");
    }
    res->magic = HOST_RECORD_MAGIC;
    res->kind = HOST_RECORD_READY;
    res->rc = worker_start(ws, argc, argv, err);
    if (res->rc != LARCH_OK) {
        snprintf(res->message, sizeof res->message, "%s", err->message);
    } else {
        res->config_hash = host_worker_config_hash(ws->cfg.text);
        res->input = ws->input;
    }
    int rc = res->rc;
    if (send_all(out, res, sizeof *res) < 0 && rc == LARCH_OK)
        rc = larch_error_set(err, LARCH_EIO, "worker: cannot write to the coordinator: %s",
                             strerror(errno));
    const char *crash = getenv(CRASH_ENV);
    long long crash_id = crash && *crash ? strtoll(crash, NULL, 10) : -1;
    while (rc == LARCH_OK) {
        host_job job;
        int got = recv_all(in, &job, sizeof job);
        if (got == 0)
            break; /* the coordinator is done with us */
        if (got < 0 || job.magic != HOST_JOB_MAGIC) {
            rc = larch_error_set(err, LARCH_EFORMAT,
                                 "worker: malformed job record from the "
                                 "coordinator");
            break;
        }
        if (crash_id >= 0 && job.id == (uint64_t)crash_id)
            raise(SIGKILL);
        memset(res, 0, sizeof *res);
        res->magic = HOST_RECORD_MAGIC;
        res->kind = HOST_RECORD_RESULT;
        res->id = job.id;
        res->attempts = 1;
        run_job(ws, &job, res);
        if (send_all(out, res, sizeof *res) < 0)
            rc = larch_error_set(err, LARCH_EIO, "worker: cannot write to the coordinator: %s",
                                 strerror(errno));
    }
    worker_release(ws);
    free(ws);
    free(res);
    close(in);
    close(out);
    return rc;
}

/* ---- the pool ---- */

typedef struct worker_slot {
    pid_t pid; /* 0: none */
    int fd;    /* the coordinator's end of the socket; -1: none */
    int busy;
    host_job job;      /* in flight when busy */
    uint32_t attempts; /* of the job in flight */
    double started_s;  /* when the job was sent */
    size_t have;       /* bytes of the record being received */
    host_job_result rec;
} worker_slot;

struct host_pool {
    char **argv; /* exe, "worker", args..., NULL */
    double job_timeout_s, start_timeout_s;
    uint64_t config_hash;
    uint32_t n;
    worker_slot *slot;
    trainer_input_shape input;
};

/* "exited with status 3", "killed by signal 9 (Killed)". */
static void describe_status(int status, char *out, size_t size)
{
    if (WIFEXITED(status))
        snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, size, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, size, "stopped (status 0x%x)", (unsigned)status);
}

/* Closes the slot's socket and reaps its process (killing it if it does not exit within about
 * a second, or at once when kill_now); describes how it ended into why. */
static void reap(worker_slot *s, int kill_now, char *why, size_t size)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    snprintf(why, size, "no process");
    if (s->pid <= 0)
        return;
    if (kill_now)
        kill(s->pid, SIGKILL);
    int status = 0;
    pid_t got = 0;
    for (int i = 0; i < 200 && got == 0; i++) {
        got = waitpid(s->pid, &status, WNOHANG);
        if (got == 0) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (got == 0) {
        kill(s->pid, SIGKILL);
        got = waitpid(s->pid, &status, 0);
    }
    if (got == s->pid)
        describe_status(status, why, size);
    s->pid = 0;
    s->busy = 0;
    s->have = 0;
}

/* Reads what is available into the slot's record; 1 when a record is complete, 0 when more is
 * to come, -1 when the worker is gone (end of input or an error). */
static int receive(worker_slot *s)
{
    char *buf = (char *)&s->rec;
    for (;;) {
        ssize_t k = read(s->fd, buf + s->have, sizeof s->rec - s->have);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (k <= 0)
            return -1;
        s->have += (size_t)k;
        if (s->have == sizeof s->rec) {
            s->have = 0;
            return s->rec.magic == HOST_RECORD_MAGIC ? 1 : -1;
        }
    }
}

/* Spawns a worker into s and waits for its READY. */
static int spawn(host_pool *p, worker_slot *s, uint32_t index, larch_error *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return larch_error_set(err, LARCH_EIO, "cannot create a socket for worker %u: %s", index,
                               strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int fa_ok = posix_spawn_file_actions_init(&fa) == 0;
    int attr_ok = posix_spawnattr_init(&attr) == 0;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    int rc = !fa_ok || !attr_ok || posix_spawn_file_actions_adddup2(&fa, sv[1], 0) ||
             posix_spawn_file_actions_adddup2(&fa, sv[1], 1) ||
             /* Its own process group: a Ctrl-C at the terminal is the coordinator's to handle. */
             posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF) ||
             posix_spawnattr_setpgroup(&attr, 0) || posix_spawnattr_setsigmask(&attr, &none) ||
             posix_spawnattr_setsigdefault(&attr, &defaults);
    pid_t pid = 0;
    if (!rc)
        rc = posix_spawn(&pid, p->argv[0], &fa, &attr, p->argv, environ);
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    close(sv[1]);
    if (rc) {
        close(sv[0]);
        return larch_error_set(err, LARCH_EIO, "cannot start worker %u (%s worker): %s", index,
                               p->argv[0], strerror(rc));
    }
    s->pid = pid;
    s->fd = sv[0];
    s->busy = 0;
    s->have = 0;
    return LARCH_OK;
}

/* Waits for the READY of a freshly spawned worker (blocking socket reads, bounded by poll). */
static int await_ready(host_pool *p, worker_slot *s, uint32_t index, larch_error *err)
{
    double deadline = now_s() + p->start_timeout_s;
    char why[128];
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0) {
            reap(s, 1, why, sizeof why);
            return larch_error_set(err, LARCH_EIO, "worker %u did not start within %.0f s", index,
                                   p->start_timeout_s);
        }
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        int got = receive(s);
        if (got == 0)
            continue;
        if (got < 0) {
            reap(s, 0, why, sizeof why);
            return larch_error_set(err, LARCH_EIO,
                                   "worker %u %s before it was ready (its "
                                   "messages are above)",
                                   index, why);
        }
        const host_job_result *r = &s->rec;
        if (r->kind != HOST_RECORD_READY) {
            reap(s, 1, why, sizeof why);
            return larch_error_set(err, LARCH_EFORMAT, "worker %u sent a result before READY",
                                   index);
        }
        if (r->rc != LARCH_OK) {
            int status = r->rc;
            larch_error_set(err, status, "worker %u: %s", index, r->message);
            reap(s, 0, why, sizeof why);
            return status;
        }
        if (p->config_hash && r->config_hash != p->config_hash) {
            reap(s, 1, why, sizeof why);
            return larch_error_set(err, LARCH_EINVAL,
                                   "worker %u read another config than the coordinator (was the "
                                   "config file edited after the start?)",
                                   index);
        }
        p->input = r->input;
        int flags = fcntl(s->fd, F_GETFL);
        if (flags >= 0)
            fcntl(s->fd, F_SETFL, flags | O_NONBLOCK);
        return LARCH_OK;
    }
}

static int start_worker(host_pool *p, uint32_t index, larch_error *err)
{
    int rc = spawn(p, &p->slot[index], index, err);
    return rc == LARCH_OK ? await_ready(p, &p->slot[index], index, err) : rc;
}

void host_pool_free(host_pool *p, int abandon)
{
    if (!p)
        return;
    char why[128];
    /* Close every input first, so the workers wind down together. */
    for (uint32_t i = 0; p->slot && i < p->n; i++)
        if (p->slot[i].fd >= 0)
            shutdown(p->slot[i].fd, SHUT_WR);
    for (uint32_t i = 0; p->slot && i < p->n; i++)
        reap(&p->slot[i], abandon, why, sizeof why);
    for (size_t i = 0; p->argv && p->argv[i]; i++)
        free(p->argv[i]);
    free(p->argv);
    free(p->slot);
    free(p);
}

int host_pool_new(const host_pool_options *opts, host_pool **out, trainer_input_shape *input,
                  larch_error *err)
{
    if (!opts || !out || opts->n_workers < 1 || (opts->n_args && !opts->args))
        return larch_error_set(err, LARCH_EINVAL, "host_pool_new: bad arguments");
    host_pool *p = calloc(1, sizeof *p);
    if (!p)
        return larch_error_set(err, LARCH_ENOMEM, "out of memory for the worker pool");
    p->n = opts->n_workers;
    p->job_timeout_s = opts->job_timeout_s;
    p->start_timeout_s = opts->start_timeout_s > 0 ? opts->start_timeout_s : 600;
    p->config_hash = opts->config_hash;
    p->slot = calloc(p->n, sizeof *p->slot);
    p->argv = calloc(opts->n_args + 3, sizeof *p->argv);
    int oom = !p->slot || !p->argv;
    if (!oom) {
        p->argv[0] = strdup(opts->exe ? opts->exe : "/proc/self/exe");
        p->argv[1] = strdup("worker");
        oom = !p->argv[0] || !p->argv[1];
        for (size_t i = 0; !oom && i < opts->n_args; i++)
            oom = !(p->argv[i + 2] = strdup(opts->args[i]));
    }
    for (uint32_t i = 0; p->slot && i < p->n; i++)
        p->slot[i].fd = -1;
    if (oom) {
        host_pool_free(p, 1);
        return larch_error_set(err, LARCH_ENOMEM, "out of memory for the worker pool");
    }
    /* Spawn all, then wait for all: they load their data in parallel. */
    int rc = LARCH_OK;
    for (uint32_t i = 0; i < p->n && rc == LARCH_OK; i++)
        rc = spawn(p, &p->slot[i], i, err);
    for (uint32_t i = 0; i < p->n && rc == LARCH_OK; i++)
        rc = await_ready(p, &p->slot[i], i, err);
    if (rc != LARCH_OK) {
        host_pool_free(p, 1);
        return rc;
    }
    if (input)
        *input = p->input;
    *out = p;
    return LARCH_OK;
}

uint32_t host_pool_idle(const host_pool *p)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->n; i++)
        n += !p->slot[i].busy;
    return n;
}

uint32_t host_pool_in_flight(const host_pool *p)
{
    return p->n - host_pool_idle(p);
}

/* Sends the job to slot i; a worker found dead is replaced once. */
static int dispatch(host_pool *p, uint32_t i, const host_job *job, uint32_t attempts,
                    larch_error *err)
{
    worker_slot *s = &p->slot[i];
    host_job copy = *job;
    copy.magic = HOST_JOB_MAGIC;
    for (int tries = 0;; tries++) {
        if (s->fd >= 0 && send_all(s->fd, &copy, sizeof copy) == 0)
            break;
        char why[128];
        reap(s, 1, why, sizeof why);
        if (tries > 0)
            return larch_error_set(err, LARCH_EIO, "worker %u takes no jobs (%s)", i, why);
        int rc = start_worker(p, i, err);
        if (rc != LARCH_OK)
            return larch_error_prefix(err, "replacing a dead worker: ");
    }
    s->busy = 1;
    s->job = copy;
    s->attempts = attempts;
    s->started_s = now_s();
    return LARCH_OK;
}

int host_pool_submit(host_pool *p, const host_job *job, larch_error *err)
{
    if (!p || !job)
        return larch_error_set(err, LARCH_EINVAL, "host_pool_submit: NULL argument");
    for (uint32_t i = 0; i < p->n; i++)
        if (!p->slot[i].busy)
            return dispatch(p, i, job, 1, err);
    return larch_error_set(err, LARCH_EINVAL, "host_pool_submit: no idle worker");
}

/* A result the pool makes itself for a job no worker could finish. */
static void synthetic(host_job_result *res, const worker_slot *s, int status, int rc,
                      const char *fmt, const char *why)
{
    memset(res, 0, sizeof *res);
    res->magic = HOST_RECORD_MAGIC;
    res->kind = HOST_RECORD_RESULT;
    res->rc = rc;
    res->id = s->job.id;
    res->attempts = s->attempts;
    res->outcome.status = status;
    snprintf(res->message, sizeof res->message, fmt, why);
}

/* Worker i died (or misbehaved) with a job: retried once on a fresh worker, else a FAILED
 * result. Returns 1 with res filled, 0 when retried, or an error. */
static int worker_died(host_pool *p, uint32_t i, host_job_result *res, larch_error *err)
{
    worker_slot *s = &p->slot[i];
    host_job job = s->job;
    uint32_t attempts = s->attempts;
    char why[128];
    reap(s, 1, why, sizeof why);
    s->job = job;
    s->attempts = attempts;
    int rc = start_worker(p, i, err);
    if (rc != LARCH_OK)
        return larch_error_prefix(err, "replacing a dead worker: ");
    if (attempts < 2) {
        fprintf(stderr, "larch: worker %u %s during job %llu; retrying it on a fresh worker\n", i,
                why, (unsigned long long)job.id);
        rc = dispatch(p, i, &job, attempts + 1, err);
        return rc == LARCH_OK ? 0 : rc;
    }
    s->job = job;
    s->attempts = attempts;
    synthetic(res, s, LARCH_TRIAL_FAILED, LARCH_EINTERNAL,
              "the worker died on this job twice (last: %s)", why);
    return 1;
}

int host_pool_wait(host_pool *p, host_job_result *res, int timeout_ms, larch_error *err)
{
    if (!p || !res)
        return larch_error_set(err, LARCH_EINVAL, "host_pool_wait: NULL argument");
    if (host_pool_in_flight(p) == 0)
        return larch_error_set(err, LARCH_EINVAL, "host_pool_wait: no job in flight");
    double until = timeout_ms < 0 ? -1 : now_s() + timeout_ms / 1000.0;
    struct pollfd *pfd = calloc(p->n, sizeof *pfd);
    uint32_t *which = calloc(p->n, sizeof *which);
    if (!pfd || !which) {
        free(pfd);
        free(which);
        return larch_error_set(err, LARCH_ENOMEM, "out of memory waiting for workers");
    }
    int rc = 0;
    while (rc == 0) {
        double t = now_s(), wake = until;
        nfds_t n = 0;
        for (uint32_t i = 0; i < p->n; i++) {
            worker_slot *s = &p->slot[i];
            if (!s->busy)
                continue;
            if (p->job_timeout_s > 0) {
                double deadline = s->started_s + p->job_timeout_s;
                if (deadline <= t) {
                    /* Past its time: kill the worker, report TIMEOUT, start a fresh one. */
                    char why[128];
                    host_job job = s->job;
                    uint32_t attempts = s->attempts;
                    reap(s, 1, why, sizeof why);
                    s->job = job;
                    s->attempts = attempts;
                    char limit[64];
                    snprintf(limit, sizeof limit, "%.0f s", p->job_timeout_s);
                    synthetic(res, s, LARCH_TRIAL_TIMEOUT, LARCH_OK,
                              "the job ran past its time limit of %s", limit);
                    rc = start_worker(p, i, err);
                    if (rc != LARCH_OK)
                        rc = larch_error_prefix(err, "replacing a timed-out worker: ");
                    else
                        rc = 1;
                    break;
                }
                if (wake < 0 || deadline < wake)
                    wake = deadline;
            }
            pfd[n] = (struct pollfd){.fd = s->fd, .events = POLLIN};
            which[n++] = i;
        }
        if (rc != 0)
            break;
        int ms = wake < 0 ? -1 : wake <= t ? 0 : (int)((wake - t) * 1000) + 1;
        int ready = poll(pfd, n, ms);
        if (ready < 0 && errno == EINTR)
            break; /* a signal: the caller checks its stop flag */
        if (ready < 0) {
            rc = larch_error_set(err, LARCH_EIO, "waiting for workers: %s", strerror(errno));
            break;
        }
        if (ready == 0 && until >= 0 && now_s() >= until)
            break;
        for (nfds_t k = 0; k < n && rc == 0; k++) {
            if (!pfd[k].revents)
                continue;
            uint32_t i = which[k];
            worker_slot *s = &p->slot[i];
            int got = receive(s);
            if (got == 0)
                continue;
            if (got > 0 && s->rec.kind == HOST_RECORD_RESULT && s->rec.id == s->job.id) {
                *res = s->rec;
                res->attempts = s->attempts;
                s->busy = 0;
                rc = 1;
            } else {
                rc = worker_died(p, i, res, err);
            }
        }
    }
    free(pfd);
    free(which);
    return rc;
}
