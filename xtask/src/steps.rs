//! The named, timed steps of `cargo xtask test`: each step's duration is printed as it ends, the run ends with
//! one summary line, and with `$LOCALTLS_STEP_TIMES` set each step is also appended to that file as
//! `seconds<TAB>name` (how `.ci/run` puts them into its table of slowest steps).

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The environment variable naming the file step times are appended to.
pub const TIMES_FILE_VAR: &str = "LOCALTLS_STEP_TIMES";

pub struct Steps {
    task: &'static str,
    started: Instant,
    passed: Vec<(&'static str, Duration)>,
    /// Tests the steps ran and passed (cargo test's `test result:` lines), when counted.
    tests_passed: Option<usize>,
    times_file: Option<PathBuf>,
}

impl Steps {
    pub fn new(task: &'static str) -> Steps {
        Steps {
            task,
            started: Instant::now(),
            passed: Vec::new(),
            tests_passed: None,
            times_file: std::env::var_os(TIMES_FILE_VAR).map(PathBuf::from),
        }
    }

    /// Runs one step; a failure ends the task with the summary line naming the failed step.
    pub fn run<T>(
        &mut self,
        name: &'static str,
        step: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        eprintln!("xtask {}: step `{name}`", self.task);
        let started = Instant::now();
        let result = step();
        let took = started.elapsed();
        self.record(name, took, result.is_ok());
        match result {
            Ok(value) => {
                eprintln!("xtask {}: step `{name}` passed in {}", self.task, seconds(took));
                self.passed.push((name, took));
                Ok(value)
            }
            Err(err) => {
                eprintln!("{}", self.failed_line(name));
                Err(err)
            }
        }
    }

    /// Adds `count` tests to the summary line.
    pub fn count_tests(&mut self, count: usize) {
        *self.tests_passed.get_or_insert(0) += count;
    }

    /// The closing line after every step passed.
    pub fn finish(self) {
        println!("{}", self.passed_line());
    }

    fn passed_line(&self) -> String {
        let slowest = self.passed.iter().max_by_key(|(_, took)| *took);
        format!(
            "xtask {}: all {} steps passed{} in {}{}",
            self.task,
            self.passed.len(),
            self.tests_passed
                .map_or(String::new(), |n| format!(" ({n} tests)")),
            seconds(self.started.elapsed()),
            slowest.map_or(String::new(), |(name, took)| format!(
                " (slowest: {name}, {})",
                seconds(*took)
            ))
        )
    }

    fn failed_line(&self, name: &str) -> String {
        format!(
            "xtask {}: step `{name}` FAILED after {} steps passed, {} in all",
            self.task,
            self.passed.len(),
            seconds(self.started.elapsed())
        )
    }

    fn record(&self, name: &str, took: Duration, ok: bool) {
        let Some(path) = &self.times_file else { return };
        let line = format!(
            "{:.0}\t{} {name}{}\n",
            took.as_secs_f64(),
            self.task,
            if ok { "" } else { " (FAILED)" }
        );
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(err) = appended {
            eprintln!(
                "xtask: warning: cannot append to {TIMES_FILE_VAR}={}: {err}",
                path.display()
            );
        }
    }
}

fn seconds(took: Duration) -> String {
    let secs = took.as_secs();
    if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", took.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(times_file: Option<PathBuf>) -> Steps {
        Steps {
            task: "test",
            started: Instant::now(),
            passed: Vec::new(),
            tests_passed: None,
            times_file,
        }
    }

    #[test]
    fn summary_counts_the_steps_and_names_the_slowest() {
        let mut steps = steps(None);
        steps.run("fmt", || Ok(())).unwrap();
        steps
            .run("clippy", || {
                std::thread::sleep(Duration::from_millis(20));
                Ok(())
            })
            .unwrap();
        let line = steps.passed_line();
        assert!(line.starts_with("xtask test: all 2 steps passed in "), "{line}");
        steps.count_tests(1200);
        steps.count_tests(34);
        let counted = steps.passed_line();
        assert!(
            counted.starts_with("xtask test: all 2 steps passed (1234 tests) in "),
            "{counted}"
        );
        assert!(
            line.ends_with(")") && line.contains("(slowest: clippy, "),
            "{line}"
        );
    }

    #[test]
    fn a_failed_step_is_returned_and_named() {
        let mut steps = steps(None);
        steps.run("fmt", || Ok(())).unwrap();
        let err = steps.run("clippy", || -> anyhow::Result<()> { anyhow::bail!("lint") });
        assert_eq!(err.unwrap_err().to_string(), "lint");
        let line = steps.failed_line("clippy");
        assert!(
            line.starts_with("xtask test: step `clippy` FAILED after 1 steps passed"),
            "{line}"
        );
    }

    #[test]
    fn step_times_are_appended_to_the_file() {
        let file = std::env::temp_dir().join(format!("xtask-steps-{}.tsv", std::process::id()));
        let _ = std::fs::remove_file(&file);
        let mut steps = steps(Some(file.clone()));
        steps.run("fmt", || Ok(())).unwrap();
        let _ = steps.run("doc tests", || -> anyhow::Result<()> { anyhow::bail!("x") });
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::remove_file(&file).unwrap();
        assert_eq!(text, "0\ttest fmt\n0\ttest doc tests (FAILED)\n");
    }

    #[test]
    fn durations_read_as_seconds_or_minutes() {
        assert_eq!(seconds(Duration::from_millis(2500)), "2.5s");
        assert_eq!(seconds(Duration::from_secs(754)), "12m34s");
    }
}
