// SPDX-License-Identifier: GPL-2.0

//! Registering a KUnit suite from a Rust module in 6.12, which has no `#[kunit_tests]`:
//! a zero-terminated `kunit_case` array and a `kunit_suite` in mutable statics (KUnit writes
//! status and logs into them), and a pointer to the suite in `.kunit_test_suites`, where
//! the module loader finds it and runs the suite on `insmod`.

use core::cell::UnsafeCell;
use kernel::bindings;

/// A static that KUnit writes into while it runs the suite.
#[repr(transparent)]
pub(crate) struct KunitStatic<T>(UnsafeCell<T>);

// SAFETY: only KUnit accesses the contents, through the raw pointer handed to it, and it runs
// this module's suite from one thread (module load); Rust code never reads them.
unsafe impl<T> Sync for KunitStatic<T> {}

impl<T> KunitStatic<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    pub(crate) const fn get(&self) -> *mut T {
        self.0.get()
    }
}

/// The `.kunit_test_suites` entry: a pointer to the suite.
#[repr(transparent)]
pub(crate) struct SuiteEntry(pub(crate) *mut bindings::kunit_suite);

// SAFETY: the pointer is only read, by the module loader, before any case runs.
unsafe impl Sync for SuiteEntry {}

/// A case: `name` must end in NUL (the `kunit_cases!` macro adds it).
pub(crate) const fn case(
    name: &'static str,
    run: unsafe extern "C" fn(*mut bindings::kunit),
) -> bindings::kunit_case {
    // SAFETY: `kunit_case` is plain C data (pointers, enums, integers) whose all-zero value is
    // what KUnit expects for the fields a case does not set, and is the array terminator.
    let mut case: bindings::kunit_case = unsafe { core::mem::zeroed() };
    case.run_case = Some(run);
    case.name = name.as_ptr();
    case
}

/// The all-zero case that terminates the array.
pub(crate) const CASES_END: bindings::kunit_case = {
    // SAFETY: as in `case`, all-zero is a valid `kunit_case`, and KUnit stops at it.
    unsafe { core::mem::zeroed() }
};

/// A suite named `name` running `cases`.
pub(crate) const fn suite(name: &str, cases: *mut bindings::kunit_case) -> bindings::kunit_suite {
    // SAFETY: `kunit_suite` is plain C data; all-zero means no init/exit hooks, an empty
    // status comment and no debugfs directory or log yet, as KUnit expects before it runs.
    let mut suite: bindings::kunit_suite = unsafe { core::mem::zeroed() };
    let bytes = name.as_bytes();
    let mut i = 0;
    // Leave the last byte 0: `name` is a C string.
    while i < bytes.len() && i + 1 < suite.name.len() {
        suite.name[i] = bytes[i];
        i += 1;
    }
    suite.test_cases = cases;
    suite
}

/// The running test, handed to each case.
pub(crate) struct Test(*mut bindings::kunit);

extern "C" {
    fn rzs_kunit_fail(
        test: *mut bindings::kunit,
        file: *const u8,
        file_len: usize,
        line: u32,
        what: *const u8,
        what_len: usize,
    );
}

impl Test {
    /// # Safety
    ///
    /// `test` must be the pointer KUnit passed to the running case.
    pub(crate) unsafe fn from_raw(test: *mut bindings::kunit) -> Self {
        Self(test)
    }

    /// Marks the running case failed, with where and what.
    pub(crate) fn fail(&self, file: &str, line: u32, what: &str) {
        // SAFETY: `self.0` is the running case's `struct kunit` (invariant of `from_raw`); the
        // strings are passed with their lengths and only read during the call.
        unsafe {
            rzs_kunit_fail(
                self.0,
                file.as_ptr(),
                file.len(),
                line,
                what.as_ptr(),
                what.len(),
            )
        };
    }
}

/// Checks a condition; on failure marks the case failed (with file, line and the condition)
/// and returns from the case.
macro_rules! check {
    ($test:expr, $cond:expr) => {
        if !$cond {
            $test.fail(file!(), line!(), stringify!($cond));
            return;
        }
    };
}
pub(crate) use check;

/// Checks `left == right`, printing both values on failure, then returns from the case.
macro_rules! check_eq {
    ($test:expr, $left:expr, $right:expr) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            kernel::pr_err!(
                "{} != {}: {:?} != {:?}\n",
                stringify!($left),
                stringify!($right),
                left,
                right
            );
            $test.fail(
                file!(),
                line!(),
                concat!(stringify!($left), " == ", stringify!($right)),
            );
            return;
        }
    }};
}
pub(crate) use check_eq;

/// Defines the suite: the case array (an `extern "C"` shim per case `fn(&Test)`, then the
/// terminator), the suite, and its `.kunit_test_suites` entry. Cases may carry `#[cfg]`.
macro_rules! kunit_suite {
    (name: $suite:literal, cases: [$($(#[$attr:meta])* $name:ident),* $(,)?]) => {
        const CASE_COUNT: usize = [$($(#[$attr])* stringify!($name),)*].len() + 1;

        static CASES: $crate::kunit_support::KunitStatic<[kernel::bindings::kunit_case; CASE_COUNT]> =
            $crate::kunit_support::KunitStatic::new([
                $($(#[$attr])* $crate::kunit_support::case(concat!(stringify!($name), "\0"), {
                    /// # Safety
                    ///
                    /// Called by KUnit with the running test's context.
                    unsafe extern "C" fn shim(test: *mut kernel::bindings::kunit) {
                        // SAFETY: KUnit calls a case with the running test's context.
                        let test = unsafe { $crate::kunit_support::Test::from_raw(test) };
                        $name(&test)
                    }
                    shim
                }),)*
                $crate::kunit_support::CASES_END,
            ]);

        static SUITE: $crate::kunit_support::KunitStatic<kernel::bindings::kunit_suite> =
            $crate::kunit_support::KunitStatic::new($crate::kunit_support::suite(
                $suite,
                CASES.get().cast(),
            ));

        #[used]
        #[link_section = ".kunit_test_suites"]
        static SUITE_ENTRY: $crate::kunit_support::SuiteEntry =
            $crate::kunit_support::SuiteEntry(SUITE.get());
    };
}
pub(crate) use kunit_suite;
