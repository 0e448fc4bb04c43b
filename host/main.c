/* larch: the thin host program. Only this file decides exit statuses:
 * 0 success, 1 a failure while working, 2 a usage or config error, 130 interrupted. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <larch/abi.h>
#include <larch/host.h>

#include "config.h"
#include "loader.h"
#include "report.h"
#include "search.h"
#include "tabulate.h"
#include "worker.h"

enum { EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

static const char usage_text[] =
    "usage: larch <command> [options]\n"
    "\n"
    "commands:\n"
    "  run CONFIG [-o FILE] [--force | --resume] [--set KEY=VALUE]... [--plugin-path DIRS]\n"
    "      [--quiet]\n"
    "      run the experiment CONFIG describes (strategies x seeds) into an HDF5 file\n"
    "      (default: <experiment.name>.h5); --set overrides any config key, e.g.\n"
    "      --set train.epochs=2 --set experiment.strategies=random,grid; --resume continues\n"
    "      an interrupted or killed experiment in FILE from its strategies' checkpoints\n"
    "  report FILE [--format text|csv|json|markdown] [--reference STRATEGY] [--target SCORE]\n"
    "      compare the strategies of an experiment file: final best accuracy, regret, trials\n"
    "      and seconds to a target, area under the best-so-far curve, Mann-Whitney U p-values\n"
    "      (docs/REPORT.md; plots: tools/larch_plot.py FILE --out DIR)\n"
    "  plugins [--plugin-path DIRS]\n"
    "      list the plugins found (and the files refused, with the reason)\n"
    "  tabulate CONFIG -o FILE [--workers N] [--resume | --force] [--set KEY=VALUE]... [--quiet]\n"
    "      train every architecture of the space once per tabulate.seeds seed, in N worker\n"
    "      processes, into a table the table evaluator replays (docs/TABLE-FORMAT.md)\n"
    "\n"
    "options:\n"
    "  -h, --help       show this help\n"
    "  --version        show the version and the plugin ABI\n"
    "\n"
    "Plugins are searched in --plugin-path, $LARCH_PLUGIN_PATH, the build tree and the install\n"
    "directory. Docs: docs/CONFIG.md, docs/RESULTS-FORMAT.md, docs/SDK.md.\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    stop_requested = 1;
    /* A second signal kills at once: the file stays readable (SWMR), only the trial in flight
     * is lost. */
    signal(sig, SIG_DFL);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "larch: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nrun 'larch --help' for usage\n");
    return EXIT_USAGE;
}

static int config_status_is_usage(int status)
{
    return status == LARCH_EINVAL || status == LARCH_ETYPE || status == LARCH_ERANGE ||
           status == LARCH_ENOTFOUND;
}

static int discover(host_registry *reg, const char *extra)
{
    char *dirs[32];
    size_t n_dirs = host_plugin_dirs(extra, dirs, 32);
    larch_error err = {0};
    int rc = host_registry_discover(reg, (const char *const *)dirs, n_dirs, &err);
    host_plugin_dirs_free(dirs, n_dirs);
    if (rc != LARCH_OK) {
        fprintf(stderr, "larch: %s\n", err.message);
        return EXIT_FAILED;
    }
    return 0;
}

static const char *kind_name(uint32_t kind)
{
    return kind == LARCH_PLUGIN_STRATEGY ? "strategy" : kind == LARCH_PLUGIN_OPSET ? "opset" : "?";
}

static int cmd_plugins(int argc, char **argv)
{
    const char *extra = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--plugin-path") && i + 1 < argc)
            extra = argv[++i];
        else
            return usage_error("plugins: unexpected argument '%s'", argv[i]);
    }
    host_registry reg = {0};
    if (discover(&reg, extra))
        return EXIT_FAILED;
    char *dirs[32];
    size_t n_dirs = host_plugin_dirs(extra, dirs, 32);
    printf("searched:");
    for (size_t i = 0; i < n_dirs; i++)
        printf(" %s", dirs[i]);
    printf("\n\n%-14s %-9s %-9s %-5s %-36s %s\n", "id", "kind", "version", "abi", "name", "file");
    for (size_t i = 0; i < reg.n_plugins; i++) {
        const host_plugin *p = &reg.plugins[i];
        printf("%-14s %-9s %-9s %u.%-3u %-36.36s %s\n", p->id, kind_name(p->kind), p->version,
               p->abi_major, p->abi_minor, p->desc->name, p->path);
    }
    if (reg.n_refused) {
        printf("\nrefused:\n");
        for (size_t i = 0; i < reg.n_refused; i++)
            printf("  %s\n    %s\n", reg.refused[i].path, reg.refused[i].reason);
    }
    printf("\nhost ABI %d.%d, build key f32/NCHW\n", LARCH_ABI_MAJOR, LARCH_ABI_MINOR);
    host_plugin_dirs_free(dirs, n_dirs);
    host_registry_release(&reg);
    return 0;
}

static int cmd_report(int argc, char **argv)
{
    const char *path = NULL;
    host_report_options opts;
    host_report_options_init(&opts);
    larch_error err = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--format") && has_value) {
            if (host_report_format_parse(argv[++i], &opts.format, &err) != LARCH_OK)
                return usage_error("%s", err.message);
        } else if (!strcmp(a, "--reference") && has_value) {
            opts.reference = argv[++i];
        } else if (!strcmp(a, "--target") && has_value) {
            if (host_report_target_parse(argv[++i], &opts.target, &err) != LARCH_OK)
                return usage_error("%s", err.message);
        } else if (a[0] == '-' && a[1]) {
            return usage_error("report: unknown option or missing value: '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            return usage_error("report: unexpected argument '%s'", a);
        }
    }
    if (!path)
        return usage_error("%s", "report: expected a FILE");
    int rc = host_report(path, &opts, stdout, &err);
    if (rc != LARCH_OK) {
        fprintf(stderr, "larch: %s\n", err.message);
        return rc == LARCH_EIO || rc == LARCH_EFORMAT || rc == LARCH_ENOTFOUND ? EXIT_USAGE
                                                                               : EXIT_FAILED;
    }
    return 0;
}

/* discover() over the command line's --plugin-path first, then the config's plugins.path. */
static int discover_for_config(host_registry *reg, const char *extra, const host_config *cfg)
{
    char dirs[2 * HOST_PATH_SIZE + 2];
    snprintf(dirs, sizeof dirs, "%s%s%s", extra ? extra : "",
             extra && cfg->plugin_path[0] ? ":" : "", cfg->plugin_path);
    return discover(reg, dirs);
}

static int cmd_run(int argc, char **argv)
{
    const char *config_path = NULL, *output = NULL, *extra = NULL;
    int force = 0, resume = 0, quiet = 0;
    const char **overrides = calloc((size_t)argc + 1, sizeof *overrides);
    size_t n_overrides = 0;
    if (!overrides)
        return EXIT_FAILED;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && has_value)
            output = argv[++i];
        else if (!strcmp(a, "--set") && has_value)
            overrides[n_overrides++] = argv[++i];
        else if (!strcmp(a, "--plugin-path") && has_value)
            extra = argv[++i];
        else if (!strcmp(a, "--force"))
            force = 1;
        else if (!strcmp(a, "--resume"))
            resume = 1;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
            quiet = 1;
        else if (a[0] == '-' && a[1]) {
            free(overrides);
            return usage_error("run: unknown option or missing value: '%s'", a);
        } else if (!config_path)
            config_path = a;
        else {
            free(overrides);
            return usage_error("run: unexpected argument '%s'", a);
        }
    }
    if (!config_path) {
        free(overrides);
        return usage_error("%s", "run: expected a CONFIG file");
    }
    if (force && resume) {
        free(overrides);
        return usage_error("%s", "run: --force and --resume exclude each other");
    }

    host_config cfg;
    larch_error err = {0};
    int rc = host_config_load(&cfg, config_path, overrides, n_overrides, &err);
    free(overrides);
    if (rc != LARCH_OK) {
        fprintf(stderr, "larch: %s\n", err.message);
        return EXIT_USAGE;
    }
    char default_output[HOST_NAME_SIZE + 8];
    if (!output) {
        snprintf(default_output, sizeof default_output, "%s.h5", cfg.name);
        output = default_output;
    }
    if (!force && !resume && access(output, F_OK) == 0) {
        fprintf(stderr,
                "larch: %s already exists; use --resume to continue it, --force to overwrite it "
                "or -o to choose another file\n",
                output);
        host_config_release(&cfg);
        return EXIT_USAGE;
    }
    if (resume && access(output, F_OK) != 0) {
        fprintf(stderr, "larch: %s does not exist: nothing to resume (run without --resume)\n",
                output);
        host_config_release(&cfg);
        return EXIT_USAGE;
    }

    host_registry reg = {0};
    if (discover_for_config(&reg, extra, &cfg)) {
        host_config_release(&cfg);
        return EXIT_FAILED;
    }

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    host_run_options opts = {.output_path = output,
                             .resume = resume,
                             .quiet = quiet,
                             .log_level = quiet ? LARCH_LOG_WARN : LARCH_LOG_INFO,
                             .stop = &stop_requested};
    rc = host_run_experiment(&cfg, &reg, &opts, &err);
    int status = 0;
    if (rc != LARCH_OK) {
        fprintf(stderr, "larch: %s\n", err.message);
        status = config_status_is_usage(rc) ? EXIT_USAGE : EXIT_FAILED;
    } else if (stop_requested) {
        fprintf(stderr, "larch: interrupted; finished trials are in %s\n", output);
        status = EXIT_INTERRUPTED;
    } else if (!quiet) {
        fprintf(stderr, "results: %s (larch report %s)\n", output, output);
    }
    host_registry_release(&reg);
    host_config_release(&cfg);
    return status;
}

static int cmd_tabulate(int argc, char **argv)
{
    const char *config_path = NULL, *output = NULL, *extra = NULL;
    int force = 0, resume = 0, quiet = 0;
    unsigned long workers = 0;
    const char **overrides = calloc((size_t)argc + 1, sizeof *overrides);
    size_t n_overrides = 0;
    if (!overrides)
        return EXIT_FAILED;
    int bad = 0;
    for (int i = 0; i < argc && !bad; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        char *end = NULL;
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && has_value)
            output = argv[++i];
        else if (!strcmp(a, "--set") && has_value)
            overrides[n_overrides++] = argv[++i];
        else if (!strcmp(a, "--plugin-path") && has_value)
            extra = argv[++i];
        else if (!strcmp(a, "--workers") && has_value) {
            workers = strtoul(argv[++i], &end, 10);
            if (!*argv[i] || *end || workers < 1 || workers > 256)
                bad = usage_error("tabulate: --workers expects 1..256, got '%s'", argv[i]);
        } else if (!strcmp(a, "--force"))
            force = 1;
        else if (!strcmp(a, "--resume"))
            resume = 1;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
            quiet = 1;
        else if (a[0] == '-' && a[1])
            bad = usage_error("tabulate: unknown option or missing value: '%s'", a);
        else if (!config_path)
            config_path = a;
        else
            bad = usage_error("tabulate: unexpected argument '%s'", a);
    }
    if (!bad && (!config_path || !output))
        bad = usage_error("%s", "tabulate: expected CONFIG and -o FILE");
    if (!bad && force && resume)
        bad = usage_error("%s", "tabulate: --force and --resume exclude each other");
    if (!bad && !force && !resume && access(output, F_OK) == 0) {
        fprintf(stderr,
                "larch: %s already exists; use --resume to continue it or --force to overwrite "
                "it\n",
                output);
        bad = EXIT_USAGE;
    }
    if (bad) {
        free(overrides);
        return bad;
    }

    host_config cfg;
    larch_error err = {0};
    int rc = host_config_load(&cfg, config_path, overrides, n_overrides, &err);
    if (rc != LARCH_OK) {
        free(overrides);
        fprintf(stderr, "larch: %s\n", err.message);
        return EXIT_USAGE;
    }
    host_registry reg = {0};
    if (discover_for_config(&reg, extra, &cfg)) {
        free(overrides);
        host_config_release(&cfg);
        return EXIT_FAILED;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    host_tabulate_options opts = {.output_path = output,
                                  .config_path = config_path,
                                  .overrides = overrides,
                                  .n_overrides = n_overrides,
                                  .plugin_path = extra,
                                  .workers = (uint32_t)workers,
                                  .resume = resume,
                                  .quiet = quiet,
                                  .stop = &stop_requested};
    host_tabulate_summary sum = {0};
    rc = host_tabulate(&cfg, &reg, &opts, &sum, &err);
    int status = 0;
    if (rc != LARCH_OK) {
        fprintf(stderr, "larch: %s\n", err.message);
        status = config_status_is_usage(rc) ? EXIT_USAGE : EXIT_FAILED;
    } else {
        fprintf(stderr,
                "tabulate: trained %llu rows this session (%llu not OK); %llu/%llu rows "
                "done -> %s\n",
                (unsigned long long)sum.trained, (unsigned long long)sum.failed,
                (unsigned long long)sum.done, (unsigned long long)sum.rows, output);
        if (stop_requested && sum.done < sum.rows) {
            fprintf(stderr, "larch: interrupted; continue with --resume\n");
            status = EXIT_INTERRUPTED;
        }
    }
    free(overrides);
    host_registry_release(&reg);
    host_config_release(&cfg);
    return status;
}

/* Silent on error: the coordinator reports what its workers send back, and a worker that stops
 * talking is reported as dead with its exit status. */
static int cmd_worker(int argc, char **argv)
{
    larch_error err = {0};
    return host_worker_main(argc, argv, &err) == LARCH_OK ? 0 : EXIT_FAILED;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "expected a command");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("larch %s (plugin ABI %d.%d, build key f32/NCHW)\n", LARCH_VERSION, LARCH_ABI_MAJOR,
               LARCH_ABI_MINOR);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 2, argv + 2);
    if (!strcmp(cmd, "report"))
        return cmd_report(argc - 2, argv + 2);
    if (!strcmp(cmd, "plugins"))
        return cmd_plugins(argc - 2, argv + 2);
    if (!strcmp(cmd, "tabulate"))
        return cmd_tabulate(argc - 2, argv + 2);
    /* Hidden: the worker processes tabulate starts (host/worker.h). */
    if (!strcmp(cmd, "worker"))
        return cmd_worker(argc - 2, argv + 2);
    return usage_error("unknown command '%s'", cmd);
}
