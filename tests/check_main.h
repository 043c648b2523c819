/*
 * check_main.h: the main() every Check test shares. Include after <check.h>.
 */
#ifndef CHECK_MAIN_H
#define CHECK_MAIN_H

#include <stdlib.h>

/* Run the suite, its results on stdout; the exit status of the test. */
static inline int
check_main(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
