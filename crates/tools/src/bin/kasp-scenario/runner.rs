//! Runs a parsed scenario step by step against the sandbox, recording each
//! `ods-enforcer` run as one raw step:
//!
//! * step 000 is `policy import`; in a scenario from a captured installation
//!   (`#@installation`), the daemon's start at the installation's time instead, as
//!   `restart-at` runs it (OpenDNSSEC continuing from its database starts that way);
//! * a command line is expanded (placeholders), a `zone add` gets the sandbox's
//!   `--signerconf/--input/--output` and an unsigned zone file, then it runs;
//! * `leap [N]`: N × `time leap` (each step `leap`);
//! * `leap-until [max=M] [!] RE`: `time leap` (steps `leap   # <line>`) until
//!   `key list --verbose` matches RE (grep -E), checked before every leap;
//! * `leap-until-time T`: `time leap` while `queue`'s next task is due at or before T;
//! * `restart-at T`: the enforcer restarted with its clock set to T, one step: the
//!   daemon program runs its start-up once in the foreground, `<daemon> -c <conf> -d -1
//!   --set-time <epoch>` (ods-enforcerd's own options; crates/cli/src/daemon/writer.rs
//!   `autostart` then enforces every zone once at T, as OpenDNSSEC's start-up does).
//!   Its output goes to `raw/NNN/daemon.txt`; out.txt says
//!   `(daemon restarted with --set-time <epoch>)`, or holds that output if it failed.
//!   The oracle's stand-in (fixtures/conformance/oracle/ods-enforcer-oracle) takes the
//!   same command line and restarts the real daemon there;
//! * `snapshot`, `kasp F`, `zonelist-file F`: one step each with rc 0;
//! * `auto-ds on|off`: after every leap-type step, `key ds-seen --all` when `key list
//!   --verbose` shows "waiting for ds-seen", then `key ds-gone --all` likewise.
//!
//! A failing command is recorded and the run goes on. What keeps a step from running as
//! written (a placeholder naming no key yet, a loop that gives up) is a "problem": the
//! run goes on, and the caller reports the problems and exits non-zero.

use crate::capture::Recorder;
use crate::sandbox::Sandbox;
use crate::zones;
use anyhow::{Context as _, Result};
use kasp_tools::scenario::{Step, When};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

/// `leap-until` without `max=`.
const DEFAULT_LEAP_UNTIL_MAX: u32 = 50;
/// At most this many leaps for one `leap-until-time`.
const LEAP_UNTIL_TIME_LIMIT: u32 = 5000;
/// `leap-until-time` gives up after this many leaps that changed neither the clock nor
/// the next task.
const STALLED_LEAPS: u32 = 3;
/// What `auto-ds on` looks for in `key list --verbose` and runs.
const AUTO_DS: [(&str, &str); 2] = [
    ("waiting for ds-seen", "key ds-seen --all"),
    ("waiting for ds-gone", "key ds-gone --all"),
];

/// The scenario file a runner works on.
#[derive(Debug)]
pub struct ScenarioFile {
    /// The path as given, for messages.
    pub name: String,
    /// The directory `kasp` and `zonelist-file` paths are relative to.
    pub dir: std::path::PathBuf,
    /// The text.
    pub text: String,
}

/// A scenario run in progress.
#[derive(Debug)]
pub struct Runner<'a> {
    sb: &'a Sandbox,
    /// The program `restart-at` runs (`ods-enforcerd`, or the oracle's stand-in).
    daemon: &'a Path,
    rec: Recorder,
    file: &'a ScenarioFile,
    start: i64,
    auto_ds: bool,
    problems: Vec<String>,
    /// Step 000 starts the daemon (`#@installation`) instead of importing the policies.
    installation: bool,
}

impl<'a> Runner<'a> {
    pub fn new(
        sb: &'a Sandbox,
        daemon: &'a Path,
        rec: Recorder,
        file: &'a ScenarioFile,
        start: i64,
    ) -> Self {
        Runner {
            sb,
            daemon,
            rec,
            file,
            start,
            auto_ds: false,
            problems: Vec::new(),
            installation: false,
        }
    }

    /// A run from a captured installation: step 000 starts the daemon at the start time.
    pub fn starting_an_installation(mut self, installation: bool) -> Self {
        self.installation = installation;
        self
    }

    /// Step 000 (`policy import`) and every scenario step; returns the recorder and
    /// the problems.
    pub fn run(mut self, steps: &[(u32, Step)]) -> Result<(Recorder, Vec<String>)> {
        if self.installation {
            self.restart_at(
                0,
                "restart-at +0s   # start from the installation",
                self.start,
            )?;
        } else {
            self.command(None, "policy import", "policy import")?;
        }
        for (line, step) in steps {
            self.step(*line, step)?;
        }
        Ok((self.rec, self.problems))
    }

    fn step(&mut self, line: u32, step: &Step) -> Result<()> {
        let text = self.line_text(line);
        match step {
            Step::Command(c) => self.command(Some(line), c, c),
            Step::Leap(n) => {
                for _ in 0..*n {
                    self.leap("leap")?;
                }
                Ok(())
            }
            Step::LeapUntil {
                max,
                negate,
                pattern,
            } => {
                let max = max.unwrap_or(DEFAULT_LEAP_UNTIL_MAX);
                self.leap_until(line, &text, max, *negate, pattern)
            }
            Step::LeapUntilTime(when) => self.leap_until_time(line, &text, self.resolve(*when)),
            Step::RestartAt(when) => self.restart_at(line, &text, self.resolve(*when)),
            Step::Snapshot => self.plain_step(&text, "snapshot", |_| Ok(())),
            Step::Kasp(file) => self.kasp(&text, file),
            Step::ZonelistFile(file) => self.zonelist_file(&text, file),
            Step::AutoDs(on) => {
                self.auto_ds = *on;
                Ok(())
            }
        }
    }

    /// The scenario line as written (trimmed), for step.txt.
    fn line_text(&self, line: u32) -> String {
        let i = (line as usize).saturating_sub(1);
        self.file
            .text
            .lines()
            .nth(i)
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    fn problem(&mut self, line: u32, message: impl std::fmt::Display) {
        let p = format!("{}:{line}: {message}", self.file.name);
        eprintln!("kasp-scenario: {p}");
        self.problems.push(p);
    }

    fn resolve(&self, when: When) -> i64 {
        match when {
            When::After(s) => self.start + s.as_i64(),
            When::At(epoch) => epoch,
        }
    }

    fn sandbox_str(&self) -> String {
        self.sb.root().display().to_string()
    }

    /// Runs one `ods-enforcer` command line as a step.
    fn command(&mut self, line: Option<u32>, step_line: &str, command: &str) -> Result<()> {
        let expanded = match self.rec.ids.expand(command, &self.sandbox_str()) {
            Ok(e) => e,
            Err(why) => return self.unrunnable(line.unwrap_or(0), step_line, command, &why),
        };
        let expanded = self.prepare_zone_add(&expanded)?;
        let args: Vec<&str> = expanded.split_whitespace().collect();
        let sb = self.sb;
        self.rec
            .step(sb, step_line, &format!("ods-enforcer {expanded}"), |out| {
                sb.run(&args, out, false)
            })?;
        Ok(())
    }

    /// Records a command that cannot run (rc -1, the reason as its output).
    fn unrunnable(&mut self, line: u32, step_line: &str, command: &str, why: &str) -> Result<()> {
        let sb = self.sb;
        let (nnn, _) = self.rec.step(sb, step_line, command, |out| {
            fs::write(out, format!("kasp-scenario: {why}; not run\n"))?;
            Ok(-1)
        })?;
        self.problem(
            line,
            format!("{why}; step {nnn} recorded with rc -1, not run"),
        );
        Ok(())
    }

    /// A step that runs no `ods-enforcer` command: rc 0 (a failing `act` ends the run).
    fn plain_step(
        &mut self,
        step_line: &str,
        cmd: &str,
        act: impl FnOnce(&Sandbox) -> Result<()>,
    ) -> Result<()> {
        let sb = self.sb;
        self.rec.step(sb, step_line, cmd, |_| act(sb).map(|()| 0))?;
        Ok(())
    }

    /// One `time leap` step, then auto-ds. Returns the step and its exit code.
    fn leap(&mut self, step_line: &str) -> Result<(String, i32)> {
        let sb = self.sb;
        let done = self
            .rec
            .step(sb, step_line, "ods-enforcer time leap", |out| {
                sb.run(&["time", "leap"], out, false)
            })?;
        self.auto_ds()?;
        Ok(done)
    }

    fn leap_until(
        &mut self,
        line: u32,
        text: &str,
        max: u32,
        negate: bool,
        pattern: &str,
    ) -> Result<()> {
        let pattern = match self.rec.ids.expand(pattern, &self.sandbox_str()) {
            Ok(p) => p,
            Err(why) => {
                self.problem(line, format!("{why}; leap-until skipped"));
                return Ok(());
            }
        };
        let label = format!("leap   # {text}");
        let mut leaps = 0;
        loop {
            match self.keys_match(&pattern)? {
                Ok(matched) if matched != negate => return Ok(()),
                Ok(_) => {}
                Err(why) => {
                    self.problem(line, format!("grep -E '{pattern}': {why}"));
                    return Ok(());
                }
            }
            if leaps == max {
                let what = if negate { "still matches" } else { "no match" };
                self.problem(
                    line,
                    format!("leap-until gave up: {what} after {max} leaps"),
                );
                return Ok(());
            }
            let (nnn, rc) = self.leap(&label)?;
            leaps += 1;
            if rc != 0 {
                self.problem(
                    line,
                    format!("leap-until stopped: time leap exited {rc} (step {nnn})"),
                );
                return Ok(());
            }
        }
    }

    /// Whether `key list --verbose` after the last step matches `pattern` (grep -E);
    /// the inner error is grep's complaint about the pattern.
    fn keys_match(&self, pattern: &str) -> Result<Result<bool, String>> {
        let Some(path) = self.rec.last_keys_verbose_path() else {
            return Ok(Ok(false));
        };
        let out = Command::new("grep")
            .args(["-E", "-q", "-e", pattern])
            .arg(&path)
            .stdin(Stdio::null())
            .output()
            .context("cannot run grep")?;
        Ok(match out.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        })
    }

    fn leap_until_time(&mut self, line: u32, text: &str, target: i64) -> Result<()> {
        let label = format!("leap   # {text}");
        let (mut leaps, mut stalled) = (0, 0);
        while let Some(next) = self.rec.next_task()
            && next <= target
        {
            if leaps == LEAP_UNTIL_TIME_LIMIT {
                self.problem(line, format!("leap-until-time gave up after {leaps} leaps"));
                return Ok(());
            }
            let before = (self.rec.now(), self.rec.next_task());
            let (nnn, rc) = self.leap(&label)?;
            leaps += 1;
            if rc != 0 {
                self.problem(
                    line,
                    format!("leap-until-time stopped: time leap exited {rc} (step {nnn})"),
                );
                return Ok(());
            }
            stalled = if before == (self.rec.now(), self.rec.next_task()) {
                stalled + 1
            } else {
                0
            };
            if stalled == STALLED_LEAPS {
                self.problem(
                    line,
                    format!("leap-until-time stopped: {STALLED_LEAPS} leaps moved neither the clock nor the queue (step {nnn})"),
                );
                return Ok(());
            }
        }
        Ok(())
    }

    /// The enforcer restarted with its clock set to `target`, as one step (see the
    /// module text).
    fn restart_at(&mut self, line: u32, text: &str, target: i64) -> Result<()> {
        let epoch = target.to_string();
        let args = ["-d", "-1", "--set-time", epoch.as_str()];
        let cmd = format!(
            "{} -c {} {}",
            self.daemon.display(),
            self.sb.path("conf.xml").display(),
            args.join(" ")
        );
        let (sb, daemon) = (self.sb, self.daemon);
        let (nnn, rc) = self.rec.step(sb, text, &cmd, |out| {
            let log = out.with_file_name("daemon.txt");
            let rc = sb.run_program(daemon, &args, &log, false)?;
            if rc == 0 {
                fs::write(out, format!("(daemon restarted with --set-time {epoch})\n"))?;
            } else {
                fs::copy(&log, out)?;
            }
            Ok(rc)
        })?;
        if rc != 0 {
            self.problem(
                line,
                format!("restart-at: the daemon exited {rc} (step {nnn}, see its out.txt)"),
            );
        }
        self.auto_ds()
    }

    fn auto_ds(&mut self) -> Result<()> {
        if !self.auto_ds {
            return Ok(());
        }
        for (needle, command) in AUTO_DS {
            if self.rec.last_keys_verbose().contains(needle) {
                let args: Vec<&str> = command.split_whitespace().collect();
                let sb = self.sb;
                let step_line = format!("{command}   # auto-ds");
                self.rec
                    .step(sb, &step_line, &format!("ods-enforcer {command}"), |out| {
                        sb.run(&args, out, false)
                    })?;
            }
        }
        Ok(())
    }

    /// `kasp <file>`: the file replaces the sandbox kasp.xml.
    fn kasp(&mut self, text: &str, file: &str) -> Result<()> {
        let src = self.file.dir.join(file);
        let dst = self.sb.path("kasp.xml");
        let cmd = format!("cp {} {}", src.display(), dst.display());
        self.plain_step(text, &cmd, |_| {
            fs::copy(&src, &dst)
                .map(drop)
                .with_context(|| format!("cannot copy {}", src.display()))
        })
    }

    /// `zonelist-file <file>`: the file, `{SANDBOX}` replaced, becomes the sandbox
    /// zonelist.xml; every zone in it gets an unsigned zone file.
    fn zonelist_file(&mut self, text: &str, file: &str) -> Result<()> {
        let src = self.file.dir.join(file);
        let content = fs::read_to_string(&src)
            .with_context(|| format!("cannot read {}", src.display()))?
            .replace("{SANDBOX}", &self.sandbox_str());
        let cmd = format!(
            "cp {} {} ({{SANDBOX}} replaced)",
            src.display(),
            self.sb.path("zonelist.xml").display()
        );
        self.plain_step(text, &cmd, |sb| {
            fs::write(sb.path("zonelist.xml"), &content)?;
            for zone in zones::zone_names(&content) {
                zones::write_unsigned_zone(sb, &zone)?;
            }
            Ok(())
        })
    }

    /// A `zone add` gets the sandbox paths and its unsigned zone file.
    fn prepare_zone_add(&self, command: &str) -> Result<String> {
        match zones::complete_zone_add(command, &self.sandbox_str()) {
            Some((line, zone)) => {
                zones::write_unsigned_zone(self.sb, &zone)?;
                Ok(line)
            }
            None => Ok(command.to_string()),
        }
    }
}
