//! A child process of the running test binary: one `#[ignore]`d test run alone, its output
//! read line by line, killed with SIGKILL when the parent decides.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use std::time::Duration;

/// The ignored test `test` of this test binary, running in a child process with `env`; its
/// standard output arrives line by line on the receiver.
pub struct TestChild {
    child: Child,
    pub lines: Receiver<String>,
    reader: JoinHandle<()>,
}

impl TestChild {
    pub fn spawn(test: &str, env: &[(&str, String)]) -> TestChild {
        let exe = std::env::current_exe().expect("test binary");
        let mut child = Command::new(exe)
            .args([
                "--exact",
                test,
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        TestChild {
            child,
            lines,
            reader,
        }
    }

    /// Kills the child with SIGKILL, reaps it, and returns the lines it printed that were not
    /// yet taken from [`TestChild::lines`].
    pub fn kill(mut self) -> Vec<String> {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
        self.reader.join().expect("reader");
        self.lines.try_iter().collect()
    }
}

/// Runs the ignored test `test` in a child process, kills it after `delay`, and returns the
/// lines it printed.
pub fn run_and_kill(test: &str, env: &[(&str, String)], delay: Duration) -> Vec<String> {
    let child = TestChild::spawn(test, env);
    std::thread::sleep(delay);
    child.kill()
}
