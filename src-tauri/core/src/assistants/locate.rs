//! Where each assistant keeps its per-user configuration, per platform.

use std::fs;
use std::path::{Path, PathBuf};

use super::files::resolve_symlinks;
use super::{io_err, AssistantError, Assistants, ClientId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Platform {
    Linux,
    MacOs,
    Windows,
}

impl Platform {
    pub(super) fn current() -> Self {
        if cfg!(target_os = "macos") {
            Platform::MacOs
        } else if cfg!(windows) {
            Platform::Windows
        } else {
            Platform::Linux
        }
    }

    /// Whether `aic-mcp-server connect` can reach the app here (the socket is Unix-only).
    pub(super) fn has_local_socket(self) -> bool {
        self != Platform::Windows
    }
}

/// Where one assistant keeps its configuration.
#[derive(Debug, Clone)]
pub(super) struct Location {
    /// The per-user folder whose presence means "installed".
    pub(super) folder: PathBuf,
    /// The configuration file (maybe a symlink).
    pub(super) file: PathBuf,
    /// Claude Desktop installed from the Microsoft Store (MSIX).
    pub(super) msix: bool,
}

impl Assistants {
    pub(super) fn config_base(&self) -> PathBuf {
        match self.platform {
            Platform::Linux => match &self.env.xdg_config_home {
                Some(p) if p.is_absolute() => p.clone(),
                _ => self.home.join(".config"),
            },
            Platform::MacOs => self.home.join("Library").join("Application Support"),
            Platform::Windows => match &self.env.appdata {
                Some(p) => p.clone(),
                None => self.home.join("AppData").join("Roaming"),
            },
        }
    }

    pub(super) fn locate(&self, id: ClientId) -> Location {
        let simple = |folder: PathBuf, file: &str| Location {
            file: folder.join(file),
            folder,
            msix: false,
        };
        match id {
            ClientId::ClaudeDesktop => {
                if self.platform == Platform::Windows {
                    if let Some(folder) = self.claude_msix_folder() {
                        return Location {
                            file: folder.join("claude_desktop_config.json"),
                            folder,
                            msix: true,
                        };
                    }
                }
                simple(
                    self.config_base().join("Claude"),
                    "claude_desktop_config.json",
                )
            }
            ClientId::ClaudeCode => Location {
                folder: self.home.join(".claude"),
                file: self.home.join(".claude.json"),
                msix: false,
            },
            ClientId::Cursor => simple(self.home.join(".cursor"), "mcp.json"),
            ClientId::Vscode => simple(self.config_base().join("Code").join("User"), "mcp.json"),
            ClientId::Codex => {
                let folder = match &self.env.codex_home {
                    Some(p) if p.is_absolute() => p.clone(),
                    _ => self.home.join(".codex"),
                };
                simple(folder, "config.toml")
            }
            ClientId::Gemini => simple(self.home.join(".gemini"), "settings.json"),
        }
    }

    /// Claude Desktop from the Microsoft Store reads its file from the package's
    /// virtualised AppData; writes to `%APPDATA%\Claude` are ignored there.
    pub(super) fn claude_msix_folder(&self) -> Option<PathBuf> {
        let local = match &self.env.local_appdata {
            Some(p) => p.clone(),
            None => self.home.join("AppData").join("Local"),
        };
        let mut packages: Vec<PathBuf> = fs::read_dir(local.join("Packages"))
            .ok()?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("Claude_"))
            .map(|e| e.path().join("LocalCache").join("Roaming").join("Claude"))
            .filter(|p| p.is_dir())
            .collect();
        packages.sort();
        packages.into_iter().next()
    }

    pub(super) fn is_detected(&self, id: ClientId, loc: &Location) -> bool {
        loc.folder.is_dir()
            || (id == ClientId::ClaudeCode && fs::symlink_metadata(&loc.file).is_ok())
    }

    pub(super) fn require_supported(&self) -> Result<(), AssistantError> {
        if self.platform.has_local_socket() {
            Ok(())
        } else {
            Err(AssistantError::PlatformUnsupported)
        }
    }

    pub(super) fn require_detected(
        &self,
        id: ClientId,
        loc: &Location,
    ) -> Result<(), AssistantError> {
        if self.is_detected(id, loc) {
            Ok(())
        } else {
            Err(AssistantError::NotDetected {
                name: id.name(),
                folder: self.shown(&loc.folder),
            })
        }
    }

    /// The file actually written: the configured path with symlinks followed.
    pub(super) fn target(&self, loc: &Location) -> Result<PathBuf, AssistantError> {
        resolve_symlinks(&loc.file)
            .map_err(|e| io_err("follow the link", &self.shown(&loc.file), e))
    }

    /// A path for messages: `~/...` under the home directory.
    pub(super) fn shown(&self, path: &Path) -> String {
        match path.strip_prefix(&self.home) {
            Ok(rest) if !rest.as_os_str().is_empty() => {
                format!("~{}{}", std::path::MAIN_SEPARATOR, rest.display())
            }
            _ => path.display().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assistants::tests::setup;
    use crate::assistants::ClientId;

    #[test]
    fn assistants_paths_per_platform() {
        let (home, mut a) = setup();
        let h = home.path();
        let file = |a: &Assistants, id| a.locate(id).file;

        a.env.xdg_config_home = Some(h.join("xdg"));
        assert_eq!(file(&a, ClientId::Vscode), h.join("xdg/Code/User/mcp.json"));
        assert_eq!(
            file(&a, ClientId::ClaudeDesktop),
            h.join("xdg/Claude/claude_desktop_config.json")
        );
        assert_eq!(file(&a, ClientId::ClaudeCode), h.join(".claude.json"));
        assert_eq!(file(&a, ClientId::Codex), h.join(".codex/config.toml"));

        a.platform = Platform::MacOs;
        assert_eq!(
            file(&a, ClientId::ClaudeDesktop),
            h.join("Library/Application Support/Claude/claude_desktop_config.json")
        );
        assert_eq!(
            file(&a, ClientId::Vscode),
            h.join("Library/Application Support/Code/User/mcp.json")
        );

        a.platform = Platform::Windows;
        a.env.appdata = Some(h.join("Roaming"));
        a.env.local_appdata = Some(h.join("Local"));
        assert_eq!(
            file(&a, ClientId::ClaudeDesktop),
            h.join("Roaming/Claude/claude_desktop_config.json")
        );
        assert_eq!(
            file(&a, ClientId::Vscode),
            h.join("Roaming/Code/User/mcp.json")
        );
        assert_eq!(file(&a, ClientId::Cursor), h.join(".cursor/mcp.json"));
        // Microsoft Store install: its virtualised folder wins.
        let msix = h.join("Local/Packages/Claude_pzs8sxrjxfjjc/LocalCache/Roaming/Claude");
        fs::create_dir_all(&msix).expect("must succeed");
        let loc = a.locate(ClientId::ClaudeDesktop);
        assert!(loc.msix);
        assert_eq!(loc.file, msix.join("claude_desktop_config.json"));
        assert!(a.view(ClientId::ClaudeDesktop).detected);
        assert!(a
            .view(ClientId::ClaudeDesktop)
            .note
            .contains("Microsoft Store"));
    }
}
