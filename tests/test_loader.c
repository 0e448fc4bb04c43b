/* The plugin loader: every fixture in tests/fixtures is refused for its one fault (or loads),
 * with a message naming the file and the versions involved; discovery, duplicates, search path. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <larch/larch.h>

#include "loader.h"

#define FIXTURE(name) LARCH_TEST_FIXTURE_DIR "/" name ".so"

/* Loads a fixture that must be refused; checks the status and that the message names the file
 * and contains each of the NULL-terminated fragments. */
static void expect_refused(const char *path, int status, ...)
{
    host_plugin p;
    larch_error err = {0};
    int rc = host_plugin_load(path, &p, &err);
    cr_assert_eq(rc, status, "%s: status %s, message: %s", path, larch_status_name(rc),
                 err.message);
    cr_assert_eq(err.status, status);
    cr_expect(strstr(err.message, path), "message '%s' does not name %s", err.message, path);
    va_list ap;
    va_start(ap, status);
    for (const char *want; (want = va_arg(ap, const char *));)
        cr_expect(strstr(err.message, want), "message '%s' lacks '%s'", err.message, want);
    va_end(ap);
    cr_expect_null(p.handle);
}

static char host_abi[32];

static void setup(void)
{
    snprintf(host_abi, sizeof host_abi, "ABI %d.%d", LARCH_ABI_MAJOR, LARCH_ABI_MINOR);
}

TestSuite(loader, .init = setup);

Test(loader, valid_strategy_loads)
{
    host_plugin p;
    larch_error err = {0};
    cr_assert_eq(host_plugin_load(FIXTURE("fx_good"), &p, &err), LARCH_OK, "%s", err.message);
    cr_expect_str_eq(p.id, "fx-good");
    cr_expect_str_eq(p.version, "1.2.3");
    cr_expect_str_eq(p.path, FIXTURE("fx_good"));
    cr_expect_eq(p.kind, LARCH_PLUGIN_STRATEGY);
    cr_expect_eq(p.abi_major, LARCH_ABI_MAJOR);
    cr_expect_eq(p.abi_minor, LARCH_ABI_MINOR);
    cr_assert_not_null(p.handle);
    cr_assert_not_null(p.desc);
    larch_arch arch;
    cr_expect_eq(p.desc->strategy->ask(NULL, &arch, &err), LARCH_ASK_DONE);
    host_registry reg = {.plugins = &p, .n_plugins = 1};
    cr_expect_eq(host_registry_find(&reg, LARCH_PLUGIN_STRATEGY, "fx-good"), &p);
    cr_expect_null(host_registry_find(&reg, LARCH_PLUGIN_OPSET, "fx-good"));
    cr_expect_null(host_registry_find(&reg, LARCH_PLUGIN_STRATEGY, "fx"));
}

Test(loader, old_minor_loads)
{
    host_plugin p;
    larch_error err = {0};
    cr_assert_eq(host_plugin_load(FIXTURE("fx_old_minor"), &p, &err), LARCH_OK, "%s", err.message);
    cr_expect_str_eq(p.id, "fx-old-minor");
    cr_expect_eq(p.abi_major, 1);
    cr_expect_eq(p.abi_minor, 0);
    cr_expect_eq(p.desc->abi.struct_size, 72); /* the v1.0 size on LP64 */
}

Test(loader, newer_minor_loads)
{
    host_plugin p;
    larch_error err = {0};
    cr_assert_eq(host_plugin_load(FIXTURE("fx_new_minor"), &p, &err), LARCH_OK, "%s", err.message);
    cr_expect_str_eq(p.id, "fx-new-minor");
    cr_expect_eq(p.abi_minor, LARCH_ABI_MINOR + 1);
    cr_expect_gt(p.desc->abi.struct_size, sizeof(larch_plugin));
}

Test(loader, valid_opset_loads)
{
    host_plugin p;
    larch_error err = {0};
    cr_assert_eq(host_plugin_load(FIXTURE("fx_opset"), &p, &err), LARCH_OK, "%s", err.message);
    cr_expect_eq(p.kind, LARCH_PLUGIN_OPSET);
    cr_expect_eq(p.desc->opset->n_ops, 2);
}

Test(loader, another_major_is_refused)
{
    expect_refused(FIXTURE("fx_abi_major"), LARCH_EABI,
                   "plugin 'fx-abi-major' 2.1.0 was built for ABI 2.1", host_abi, NULL);
}

Test(loader, another_build_key_is_refused)
{
    expect_refused(FIXTURE("fx_build_key"), LARCH_EABI, "plugin 'fx-build-key' 1.0.1",
                   "built for f64/NCHW tensors, this host uses f32/NCHW", NULL);
}

Test(loader, bad_struct_size_is_refused)
{
    expect_refused(FIXTURE("fx_struct_size"), LARCH_EABI, "bad struct size 8", host_abi, NULL);
}

Test(loader, bad_magic_is_refused)
{
    expect_refused(FIXTURE("fx_bad_magic"), LARCH_EABI, "bad magic 0x12345678", NULL);
}

Test(loader, null_function_pointer_is_refused)
{
    expect_refused(FIXTURE("fx_null_fn"), LARCH_EPLUGIN, "strategy vtable: 'save' is NULL", NULL);
}

Test(loader, unknown_kind_is_refused)
{
    expect_refused(FIXTURE("fx_bad_kind"), LARCH_EPLUGIN, "unknown kind 7", NULL);
}

Test(loader, bad_id_is_refused)
{
    expect_refused(FIXTURE("fx_bad_id"), LARCH_EPLUGIN, "plugin id 'Bad Id' is not [a-z0-9_-]+",
                   NULL);
}

Test(loader, missing_entry_is_refused)
{
    expect_refused(FIXTURE("fx_no_entry"), LARCH_EPLUGIN, "no entry symbol 'larch_plugin_entry_v1'",
                   NULL);
}

Test(loader, null_descriptor_is_refused)
{
    expect_refused(FIXTURE("fx_null_desc"), LARCH_EPLUGIN, "larch_plugin_entry_v1() returned NULL",
                   NULL);
}

Test(loader, empty_opset_is_refused)
{
    expect_refused(FIXTURE("fx_opset_empty"), LARCH_EPLUGIN, "opset vtable: n_ops 0 not in 1..16",
                   NULL);
}

Test(loader, garbage_is_refused_with_dlerror_text)
{
    /* dlerror says why ("invalid ELF header", "file too short"); the file is named either way. */
    expect_refused(FIXTURE("garbage"), LARCH_EPLUGIN, "not a loadable shared object: ", NULL);
}

Test(loader, missing_file_is_eio)
{
    expect_refused(FIXTURE("does_not_exist"), LARCH_EIO, "cannot open", NULL);
}

static const host_refusal *find_refusal(const host_registry *reg, const char *file)
{
    for (size_t i = 0; i < reg->n_refused; i++) {
        const char *slash = strrchr(reg->refused[i].path, '/');
        if (slash && !strcmp(slash + 1, file))
            return &reg->refused[i];
    }
    return NULL;
}

Test(loader, discovery_over_the_fixtures)
{
    host_registry reg = {0};
    larch_error err = {0};
    const char *dirs[] = {LARCH_TEST_FIXTURE_DIR, LARCH_TEST_FIXTURE_DIR "/no-such-dir",
                          LARCH_TEST_FIXTURE_DIR "/"};
    cr_assert_eq(host_registry_discover(&reg, dirs, 3, &err), LARCH_OK, "%s", err.message);

    /* In file-name order; the directory named twice is scanned once; the missing one skipped. */
    cr_assert_eq(reg.n_plugins, 4);
    cr_expect_str_eq(reg.plugins[0].id, "fx-good");
    cr_expect_str_eq(reg.plugins[1].id, "fx-new-minor");
    cr_expect_str_eq(reg.plugins[2].id, "fx-old-minor");
    cr_expect_str_eq(reg.plugins[3].id, "fx-opset");
    cr_expect_not_null(host_registry_find(&reg, LARCH_PLUGIN_OPSET, "fx-opset"));
    cr_expect_null(host_registry_find(&reg, LARCH_PLUGIN_STRATEGY, "fx-opset"));

    const struct {
        const char *file, *reason;
    } bad[] = {
        {"fx_abi_major.so", "was built for ABI 2.1"},
        {"fx_bad_id.so", "plugin id 'Bad Id'"},
        {"fx_bad_kind.so", "unknown kind 7"},
        {"fx_bad_magic.so", "bad magic"},
        {"fx_build_key.so", "f64/NCHW"},
        {"fx_no_entry.so", "no entry symbol"},
        {"fx_null_desc.so", "returned NULL"},
        {"fx_null_fn.so", "'save' is NULL"},
        {"fx_opset_empty.so", "n_ops 0"},
        {"fx_struct_size.so", "bad struct size"},
        {"garbage.so", "not a loadable shared object"},
    };
    size_t n_bad = sizeof bad / sizeof bad[0];
    cr_expect_eq(reg.n_refused, n_bad);
    for (size_t i = 0; i < n_bad; i++) {
        const host_refusal *r = find_refusal(&reg, bad[i].file);
        cr_assert_not_null(r, "%s not refused", bad[i].file);
        cr_expect(strstr(r->reason, bad[i].reason), "%s: reason '%s' lacks '%s'", bad[i].file,
                  r->reason, bad[i].reason);
        /* The reason does not repeat the path the refusal already carries. */
        cr_expect_neq(strncmp(r->reason, r->path, strlen(r->path)), 0, "%s", r->reason);
    }
    host_registry_release(&reg);
    cr_expect_eq(reg.n_plugins, 0);
    cr_expect_null(reg.plugins);
}

Test(loader, discovery_finds_the_real_strategies)
{
    struct stat st;
    if (stat(LARCH_TEST_PLUGIN_DIR "/random.so", &st) != 0)
        cr_skip_test("random.so is not built in " LARCH_TEST_PLUGIN_DIR
                     " (build the 'random' target first)");
    host_registry reg = {0};
    larch_error err = {0};
    const char *dirs[] = {LARCH_TEST_PLUGIN_DIR};
    cr_assert_eq(host_registry_discover(&reg, dirs, 1, &err), LARCH_OK, "%s", err.message);
    for (size_t i = 0; i < reg.n_refused; i++)
        cr_log_warn("refused %s: %s", reg.refused[i].path, reg.refused[i].reason);
    const host_plugin *random = host_registry_find(&reg, LARCH_PLUGIN_STRATEGY, "random");
    cr_assert_not_null(random, "random not found");
    cr_expect_str_eq(random->path, LARCH_TEST_PLUGIN_DIR "/random.so");
    cr_expect_not_null(host_registry_find(&reg, LARCH_PLUGIN_STRATEGY, "grid"), "grid not found");
    host_registry_release(&reg);
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    cr_assert_not_null(in, "%s", from);
    FILE *out = fopen(to, "wb");
    cr_assert_not_null(out, "%s", to);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        cr_assert_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    cr_assert_eq(fclose(out), 0);
}

Test(loader, duplicate_id_across_directories_is_refused)
{
    char a[64] = "/tmp/larch-test-loader-a-XXXXXX", b[64] = "/tmp/larch-test-loader-b-XXXXXX";
    cr_assert_not_null(mkdtemp(a));
    cr_assert_not_null(mkdtemp(b));
    char first[128], second[128];
    snprintf(first, sizeof first, "%s/fx_good.so", a);
    snprintf(second, sizeof second, "%s/another_name.so", b);
    copy_file(FIXTURE("fx_good"), first);
    copy_file(FIXTURE("fx_good"), second);

    host_registry reg = {0};
    larch_error err = {0};
    const char *dirs[] = {a, b};
    int rc = host_registry_discover(&reg, dirs, 2, &err);
    unlink(first);
    unlink(second);
    rmdir(a);
    rmdir(b);
    cr_assert_eq(rc, LARCH_OK, "%s", err.message);
    cr_assert_eq(reg.n_plugins, 1);
    cr_expect_str_eq(reg.plugins[0].path, first);
    cr_assert_eq(reg.n_refused, 1);
    cr_expect_str_eq(reg.refused[0].path, second);
    char want[256];
    snprintf(want, sizeof want, "duplicate id 'fx-good' (version 1.2.3): already loaded from %s",
             first);
    cr_expect(strstr(reg.refused[0].reason, want), "%s", reg.refused[0].reason);
    host_registry_release(&reg);
}

Test(loader, search_path_order)
{
    cr_assert_eq(setenv("LARCH_PLUGIN_PATH", "/env/one::/cli/b", 1), 0);
    char *dirs[16];
    size_t n = host_plugin_dirs("/cli/a::/cli/b", dirs, 16);
    cr_assert_geq(n, 4);
    cr_expect_str_eq(dirs[0], "/cli/a");
    cr_expect_str_eq(dirs[1], "/cli/b");
    cr_expect_str_eq(dirs[2], "/env/one");
    cr_expect_str_eq(dirs[3], LARCH_TEST_PLUGIN_DIR);
    cr_expect_eq(n, 5); /* and the install directory */
    host_plugin_dirs_free(dirs, n);

    n = host_plugin_dirs(NULL, dirs, 2);
    cr_expect_eq(n, 2);
    host_plugin_dirs_free(dirs, n);
}
