/* placeholder: being written */
typedef int larch_placeholder_unit;
