/* Reading `larch report --format csv` output in tests (tests/test_stats.c, tests/test_replay.c). */
#ifndef LARCH_TESTS_REPORT_CSV_H
#define LARCH_TESTS_REPORT_CSV_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The CSV's value of column `name` in the row of `strategy`; NaN for an empty field. */
static inline double csv_value(const char *csv, const char *strategy, const char *name)
{
    char *copy = strdup(csv);
    cr_assert_not_null(copy);
    char *save_line = NULL;
    char *header = strtok_r(copy, "\n", &save_line);
    int column = -1, i = 0;
    char *save = NULL;
    for (char *tok = strtok_r(header, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++)
        if (!strcmp(tok, name))
            column = i;
    cr_assert_geq(column, 0, "no column %s", name);
    double value = NAN;
    int found = 0;
    for (char *line = strtok_r(NULL, "\n", &save_line); line;
         line = strtok_r(NULL, "\n", &save_line)) {
        /* Fields may be empty: walk the commas by hand rather than with strtok. */
        char *field = line;
        for (int c = 0; c < column && field; c++) {
            field = strchr(field, ',');
            field = field ? field + 1 : NULL;
        }
        size_t id_len = strcspn(line, ",");
        if (field && strlen(strategy) == id_len && !strncmp(line, strategy, id_len)) {
            found = 1;
            value = *field && *field != ',' ? strtod(field, NULL) : NAN;
        }
    }
    free(copy);
    cr_assert(found, "no row for %s", strategy);
    return value;
}

#endif
