//! The compile-fail suite: each file in `tests/ui/` is a misuse of the framework that must not
//! compile; the expected compiler output is checked in next to it. `tests/ui/rules/` holds one
//! case per SDV rule enforced at compile time, named `kmdf_<rule>` or `wdm_<rule>` (the rule's
//! name in snake case), as `host-tests/RULES.md` lists them; the other cases are guarantees
//! without an SDV rule of their own. Run on the pinned toolchain only.
#![allow(missing_docs)]

#[test]
#[cfg_attr(miri, ignore = "runs the compiler, which Miri cannot")]
fn misuse_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.compile_fail("tests/ui/rules/*.rs");
}
