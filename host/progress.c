#include "progress.h"

#include <stdarg.h>
#include <time.h>
#include <unistd.h>

double host_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void host_progress_init(host_progress *p, FILE *out, uint64_t total_trials, int quiet)
{
    p->out = out;
    p->quiet = quiet;
    p->live = !quiet && isatty(fileno(out));
    p->started_s = host_now_s();
    p->total_trials = total_trials;
    p->done_trials = 0;
    p->evaluated_s = 0;
    p->interval_s = 0;
    p->last_s = 0;
}

static void format_duration(double seconds, char *out, size_t size)
{
    if (seconds < 0 || seconds != seconds) {
        snprintf(out, size, "?");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(out, size, "%ld:%02ld", s / 60, s % 60);
}

/* Fraction of the experiment done after this trial: runs go one after another, and a run is
 * as far along as the bound it is closest to reaching. */
static double fraction_done(const host_progress_trial *t)
{
    double run = 0;
    if (t->run_trials)
        run = (double)(t->trial + 1) / (double)t->run_trials;
    if (t->budget_seconds > 0 && t->charged_seconds / t->budget_seconds > run)
        run = t->charged_seconds / t->budget_seconds;
    if (run > 1)
        run = 1;
    return t->n_runs ? ((double)t->run_index + run) / (double)t->n_runs : 0;
}

void host_progress_trial_done(host_progress *p, const host_progress_trial *t)
{
    p->done_trials++;
    p->evaluated_s += t->seconds;
    if (p->quiet || (p->interval_s > 0 && !p->live))
        return;
    double now = host_now_s();
    if (p->interval_s > 0 && now - p->last_s < p->interval_s)
        return;
    p->last_s = now;
    double elapsed = now - p->started_s;
    double done = fraction_done(t);
    /* Runs may end early (DONE), so the ETA is an upper estimate. */
    double eta = done > 0 ? elapsed / done * (1 - done) : -1;
    char elapsed_text[32], eta_text[32], charged[64] = "";
    format_duration(elapsed, elapsed_text, sizeof elapsed_text);
    format_duration(eta, eta_text, sizeof eta_text);
    if (t->budget_seconds > 0)
        snprintf(charged, sizeof charged, "charged %.0f/%.0fs", t->charged_seconds,
                 t->budget_seconds);
    char of[32] = "";
    if (t->run_trials)
        snprintf(of, sizeof of, "/%llu", (unsigned long long)t->run_trials);
    if (p->live) {
        fprintf(p->out, "\r\033[K[run %u/%u %s] trial %llu%s%s%s  best %.4f  elapsed %s  ETA %s",
                t->run_index + 1, t->n_runs, t->run, (unsigned long long)t->trial + 1, of,
                charged[0] ? "  " : "", charged, t->best_score, elapsed_text, eta_text);
    } else {
        fprintf(p->out,
                "%s trial %llu%s arch %s %s%s score %.4f val %.4f best %.4f (%.1fs%s%s, "
                "elapsed %s, ETA %s)\n",
                t->run, (unsigned long long)t->trial + 1, of, t->arch, t->status,
                t->cached ? " (cached)" : "", t->score, t->val_accuracy, t->best_score, t->seconds,
                charged[0] ? ", " : "", charged, elapsed_text, eta_text);
    }
    fflush(p->out);
}

void host_progress_note(host_progress *p, const char *fmt, ...)
{
    if (p->live)
        fprintf(p->out, "\r\033[K");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    fputc('\n', p->out);
    fflush(p->out);
}

void host_progress_finish(host_progress *p)
{
    if (p->live) {
        fputc('\n', p->out);
        fflush(p->out);
    }
}
