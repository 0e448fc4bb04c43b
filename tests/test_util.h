/* Helpers several Criterion suites share: a scratch directory per test, and the nb201 op set
 * loaded from the build tree. Header-only. */
#ifndef TESTS_TEST_UTIL_H
#define TESTS_TEST_UTIL_H

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <larch/abi.h>
#include <larch/opset.h>

#define TU_UNUSED __attribute__((unused))

/* dir := a new directory /tmp/larch-<suite>-XXXXXX, or the test fails. */
TU_UNUSED static void tu_make_dir(char *dir, size_t size, const char *suite)
{
    snprintf(dir, size, "/tmp/larch-%s-XXXXXX", suite);
    cr_assert_not_null(mkdtemp(dir), "mkdtemp %s", dir);
}

/* Removes dir and everything in it. */
TU_UNUSED static void tu_remove_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* The op set of the built ops-nb201.so (its five ops), or the test fails. */
TU_UNUSED static const larch_opset_vtable *tu_nb201(void)
{
    const char *path = LARCH_TEST_PLUGIN_DIR "/ops-nb201.so";
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(handle, "dlopen %s: %s", path, dlerror());
    void *sym = dlsym(handle, LARCH_ENTRY_SYMBOL);
    cr_assert_not_null(sym, "%s", dlerror());
    larch_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof(entry));
    const larch_plugin *plugin = entry();
    cr_assert_eq(plugin->kind, LARCH_PLUGIN_OPSET);
    cr_assert_eq(plugin->opset->n_ops, 5);
    return plugin->opset;
}

#endif
