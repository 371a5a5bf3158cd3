//! The benchmark programs' command lines, read by `pico-args`: `--name value` options with
//! defaults, numbers written with `_` separators, lists separated by commas, and one answer to
//! a bad command line (the problem, then the usage, and exit status 2).

use std::fmt::Display;
use std::str::FromStr;

/// A benchmark program's command line.
///
/// ```no_run
/// let mut cli = pacer_benches::cli::Cli::from_env("keyed", "usage: keyed [--keys N]");
/// let keys: u64 = cli.value("--keys", 1_000_000);
/// cli.finish();
/// ```
pub struct Cli {
    program: &'static str,
    usage: &'static str,
    args: pico_args::Arguments,
}

impl Cli {
    /// This process's command line, for `program`, whose options `usage` lists. With `--help`
    /// or `-h` it prints the usage and exits.
    pub fn from_env(program: &'static str, usage: &'static str) -> Cli {
        let mut args = pico_args::Arguments::from_env();
        if args.contains(["-h", "--help"]) {
            println!("{usage}");
            std::process::exit(0);
        }
        Cli {
            program,
            usage,
            args,
        }
    }

    /// The value of `--name`, or `default` when it is not given. Numbers may be written with
    /// `_` separators (`1_000_000`).
    pub fn value<T>(&mut self, name: &'static str, default: T) -> T
    where
        T: FromStr,
        T::Err: Display,
    {
        self.optional(name).unwrap_or(default)
    }

    /// The value of `--name`, if given.
    pub fn optional<T>(&mut self, name: &'static str) -> Option<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        let parsed = self
            .args
            .opt_value_from_fn(name, |text: &str| text.replace('_', "").parse::<T>());
        parsed.unwrap_or_else(|error| self.fail(&format!("{name}: {error}")))
    }

    /// The text of `--name`, as written, if given.
    pub fn text(&mut self, name: &'static str) -> Option<String> {
        let text = self.args.opt_value_from_str::<_, String>(name);
        text.unwrap_or_else(|error| self.fail(&format!("{name}: {error}")))
    }

    /// The comma-separated values of `--name`, or `default` when it is not given.
    pub fn list<T>(&mut self, name: &'static str, default: Vec<T>) -> Vec<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        let Some(text) = self.text(name) else {
            return default;
        };
        text.split(',')
            .map(|item| {
                item.trim()
                    .replace('_', "")
                    .parse()
                    .unwrap_or_else(|error| self.fail(&format!("{name} {text}: {error}")))
            })
            .collect()
    }

    /// Every value of `--name`, given once or more (`--rate 10 --rate 100`), in order.
    pub fn all<T>(&mut self, name: &'static str) -> Vec<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        let parsed = self
            .args
            .values_from_fn(name, |text: &str| text.replace('_', "").parse::<T>());
        parsed.unwrap_or_else(|error| self.fail(&format!("{name}: {error}")))
    }

    /// Every text of `--name`, as written, in order.
    pub fn all_texts(&mut self, name: &'static str) -> Vec<String> {
        let texts = self.args.values_from_str::<_, String>(name);
        texts.unwrap_or_else(|error| self.fail(&format!("{name}: {error}")))
    }

    /// Whether the flag `--name` is given.
    pub fn flag(&mut self, name: &'static str) -> bool {
        self.args.contains(name)
    }

    /// The end of the options: anything not read is an error.
    pub fn finish(self) {
        let Cli {
            program,
            usage,
            args,
        } = self;
        let rest = args.finish();
        if !rest.is_empty() {
            fail(program, usage, &format!("unknown arguments {rest:?}"));
        }
    }

    /// Says what is wrong with the command line, then the usage, and exits with status 2.
    pub fn fail(&self, problem: &str) -> ! {
        fail(self.program, self.usage, problem)
    }
}

fn fail(program: &str, usage: &str, problem: &str) -> ! {
    eprintln!("{program}: {problem}\n{usage}");
    std::process::exit(2)
}
