//! The facts about this machine and user that decide which trust stores exist: the OS, the home folders,
//! `JAVA_HOME`, WSL, and `sudo`.

use std::path::{Path, PathBuf};

use super::invocation::Invocation;

/// The operating system the stores are chosen for, at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
    Other,
}

/// The facts about this machine and user that decide which stores exist.
#[derive(Debug, Clone)]
pub struct Host {
    pub os: Os,
    /// The user's home (`HOME`; `USERPROFILE` on Windows).
    pub home: Option<PathBuf>,
    /// `XDG_CONFIG_HOME` when set to an absolute path (the XDG rule); `None` means `HOME/.config`.
    pub xdg_config_home: Option<PathBuf>,
    /// `JAVA_HOME`, when set and not empty.
    pub java_home: Option<PathBuf>,
    /// Linux running under Windows' WSL, where the Windows store matters too.
    pub wsl: bool,
    /// Running through `sudo` with the invoking user's HOME: files made there would belong to root.
    pub sudo_in_user_home: bool,
    /// How this user runs the commands printed as fixes.
    pub invocation: Invocation,
}

impl Host {
    /// The machine this process runs on, read from the environment.
    pub fn current() -> Host {
        let os = match std::env::consts::OS {
            "linux" => Os::Linux,
            "macos" => Os::MacOs,
            "windows" => Os::Windows,
            _ => Os::Other,
        };
        let env_path = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let home = if os == Os::Windows {
            env_path("USERPROFILE")
        } else {
            env_path("HOME")
        };
        let wsl = os == Os::Linux
            && (Path::new("/proc/sys/fs/binfmt_misc/WSLInterop").exists()
                || std::fs::read_to_string("/proc/version")
                    .is_ok_and(|v| v.to_lowercase().contains("microsoft")));
        Host {
            os,
            sudo_in_user_home: home.as_deref().is_some_and(sudo_in_user_home),
            home,
            xdg_config_home: env_path("XDG_CONFIG_HOME").filter(|p| p.is_absolute()),
            java_home: env_path("JAVA_HOME"),
            wsl,
            invocation: Invocation::detect(),
        }
    }

    /// `path` with the home directory shown as `~`.
    pub(super) fn show(&self, path: &Path) -> String {
        match self.home.as_deref().and_then(|home| path.strip_prefix(home).ok()) {
            Some(rest) => Path::new("~").join(rest).display().to_string(),
            None => path.display().to_string(),
        }
    }
}

/// Whether `sudo` (which sets `SUDO_UID`) kept the invoking user's `home`: it is owned by that user, not root.
#[cfg(unix)]
fn sudo_in_user_home(home: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let sudo_uid = std::env::var("SUDO_UID")
        .ok()
        .and_then(|uid| uid.parse::<u32>().ok());
    sudo_uid.is_some_and(|uid| uid != 0 && std::fs::metadata(home).is_ok_and(|m| m.uid() == uid))
}

#[cfg(not(unix))]
fn sudo_in_user_home(_home: &Path) -> bool {
    false
}
