/* SPDX-License-Identifier: GPL-2.0 */
/* Prototypes of the C helpers; the Rust side declares the same in sys/mod.rs. */
#ifndef RZS_HELPERS_H
#define RZS_HELPERS_H

struct page;
struct kunit;

void rzs_rcu_read_lock(void);
void rzs_rcu_read_unlock(void);
unsigned long rzs_page_to_pfn(struct page *page);

/* Test module only (tests/kunit_helpers.c). */
void rzs_kunit_fail(struct kunit *test, const char *file, size_t file_len, u32 line,
		    const char *what, size_t what_len);
void rzs_provoke_warning(void);

#endif
