#include "stats.h"

#include <math.h>
#include <stdlib.h>

double host_stats_mean(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    return sum / (double)n;
}

double host_stats_sd(const double *x, size_t n)
{
    if (n < 2)
        return NAN;
    /* Two passes: the one-pass sum of squares loses digits when the spread is small. */
    double mean = host_stats_mean(x, n), sq = 0;
    for (size_t i = 0; i < n; i++)
        sq += (x[i] - mean) * (x[i] - mean);
    return sqrt(sq / (double)(n - 1));
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double host_stats_median(double *x, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(x, n, sizeof *x, compare_double);
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

void host_stats_best_so_far(const double *score, size_t n, double *best)
{
    double running = NAN;
    for (size_t i = 0; i < n; i++) {
        if (!isnan(score[i]) && (isnan(running) || score[i] > running))
            running = score[i];
        best[i] = running;
    }
}

size_t host_stats_first_reach(const double *best, size_t n, double target)
{
    for (size_t i = 0; i < n; i++)
        if (best[i] >= target) /* false for NaN */
            return i;
    return n;
}

static double defined_or_zero(double v)
{
    return isnan(v) ? 0 : v;
}

double host_stats_auc_trials(const double *best, size_t n, size_t horizon)
{
    if (horizon == 0)
        return NAN;
    double sum = 0;
    for (size_t i = 0; i < horizon; i++)
        sum += i < n ? defined_or_zero(best[i]) : n ? defined_or_zero(best[n - 1]) : 0;
    return sum / (double)horizon;
}

double host_stats_auc_seconds(const double *best, const double *seconds, size_t n, double t_end)
{
    if (!(t_end > 0))
        return NAN;
    double area = 0;
    for (size_t i = 0; i < n; i++) {
        double from = fmin(fmax(seconds[i], 0), t_end);
        double to = i + 1 < n ? fmin(fmax(seconds[i + 1], 0), t_end) : t_end;
        if (to > from)
            area += defined_or_zero(best[i]) * (to - from);
    }
    return area / t_end;
}

/* Element k of the pooled sample x ++ y. */
static double pooled(const double *x, size_t nx, const double *y, size_t k)
{
    return k < nx ? x[k] : y[k - nx];
}

/* P(U >= u) under the null for samples of m and n without ties. The counts of arrangements per
 * U value are the coefficients of the Gaussian binomial [m+n choose m]_q, built as the product of
 * (1 - q^(n+i)) / (1 - q^i), i = 1..m; every partial product is a polynomial with integer
 * coefficients below C(40, 20) < 2^53, so doubles hold them exactly. */
static double mwu_exact_sf(size_t m, size_t n, double u)
{
    enum { MAX = HOST_STATS_MWU_EXACT_MAX, SIZE = MAX * MAX + MAX + 1 };
    double c[SIZE] = {1};
    for (size_t i = 1; i <= m; i++) {
        size_t top = (i - 1) * n + n + i; /* degree after the multiplication */
        for (size_t k = top; k >= n + i; k--)
            c[k] -= c[k - (n + i)];
        for (size_t k = i; k <= top; k++)
            c[k] += c[k - i];
    }
    double total = 0, tail = 0;
    for (size_t k = 0; k <= m * n; k++) {
        total += c[k];
        if ((double)k >= u)
            tail += c[k];
    }
    return tail / total;
}

host_stats_mwu host_stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny)
{
    host_stats_mwu r = {.u = NAN, .p = NAN, .exact = 0};
    if (nx == 0 || ny == 0)
        return r;
    double u = 0;
    for (size_t i = 0; i < nx; i++)
        for (size_t j = 0; j < ny; j++)
            u += x[i] > y[j] ? 1 : x[i] == y[j] ? 0.5 : 0;
    r.u = u;
    /* sum over tie groups of t^3 - t, as sum over elements of t^2 - 1; quadratic, but samples are
     * runs per strategy: tens, not thousands. */
    size_t n = nx + ny;
    double tie_term = 0;
    for (size_t k = 0; k < n; k++) {
        double t = 0, v = pooled(x, nx, y, k);
        for (size_t l = 0; l < n; l++)
            t += pooled(x, nx, y, l) == v;
        tie_term += t * t - 1;
    }
    double mn = (double)nx * (double)ny;
    double u_max = fmax(u, mn - u); /* two-sided: the larger of U and its mirror */
    if (tie_term == 0 && nx <= HOST_STATS_MWU_EXACT_MAX && ny <= HOST_STATS_MWU_EXACT_MAX) {
        r.exact = 1;
        r.p = fmin(1, 2 * mwu_exact_sf(nx, ny, u_max));
        return r;
    }
    double var = mn / 12 * ((double)(n + 1) - tie_term / ((double)n * (double)(n - 1)));
    if (!(var > 0)) { /* every value tied: no evidence of a difference */
        r.p = 1;
        return r;
    }
    double z = (u_max - mn / 2 - 0.5) / sqrt(var);
    r.p = fmin(1, erfc(z / sqrt(2.0)));
    return r;
}
