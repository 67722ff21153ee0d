//! The compile-fail suite: each file in `tests/ui/` is a misuse of the framework that must not
//! compile, named after the rule it breaks (SDV rule names where one exists); the expected
//! compiler output is checked in next to it. Run on the pinned toolchain only.
#![allow(missing_docs)]

#[test]
#[cfg_attr(miri, ignore = "runs the compiler, which Miri cannot")]
fn misuse_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
