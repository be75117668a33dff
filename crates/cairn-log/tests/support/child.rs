//! Runs one `#[ignore]`d test of this test binary as a child process, kills it with SIGKILL
//! after `delay`, and returns the lines it printed (cairn-test-support's).

pub use cairn_test_support::child::run_and_kill;
