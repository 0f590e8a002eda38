//! Opening the authorize URL in the admin's browser. Which command runs is a pure function
//! of the platform (and `$BROWSER` on Linux), so every platform's choice is tested anywhere.

/// Opens a URL in the user's browser.
#[async_trait::async_trait]
pub trait BrowserOpener: Send + Sync + std::fmt::Debug {
    async fn open(&self, url: &str) -> Result<(), String>;
}

/// The system browser: `$BROWSER` on Linux when set (a `:`-separated list, `%s` replaced by
/// the URL), else `xdg-open`; `open` on macOS; the URL protocol handler on Windows. No shell
/// is involved anywhere, so the URL's `&` and `?` reach the browser as they are.
#[derive(Debug, Default, Clone)]
pub struct SystemBrowser;

#[async_trait::async_trait]
impl BrowserOpener for SystemBrowser {
    async fn open(&self, url: &str) -> Result<(), String> {
        let browser = std::env::var("BROWSER").ok();
        let mut last = String::from("no browser command found");
        for (program, args) in browser_commands(Platform::current(), browser.as_deref(), url) {
            match tokio::process::Command::new(&program)
                .args(&args)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
            {
                Ok(mut child) => {
                    // Reap it in the background; many openers exit at once, some stay.
                    tokio::spawn(async move {
                        let _ = child.wait().await;
                    });
                    return Ok(());
                }
                Err(e) => last = format!("{program}: {e}"),
            }
        }
        Err(last)
    }
}

/// The platforms whose browser is opened differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Platform {
    MacOs,
    Windows,
    /// Linux and the BSDs: `$BROWSER`, then `xdg-open`.
    OtherUnix,
}

impl Platform {
    fn current() -> Self {
        if cfg!(target_os = "macos") {
            Self::MacOs
        } else if cfg!(windows) {
            Self::Windows
        } else {
            Self::OtherUnix
        }
    }
}

/// The commands to try in order, each a program and its arguments.
fn browser_commands(
    platform: Platform,
    browser_var: Option<&str>,
    url: &str,
) -> Vec<(String, Vec<String>)> {
    match platform {
        Platform::MacOs => vec![("open".to_string(), vec![url.to_string()])],
        // `cmd /C start "" <url>` would hand the URL to cmd.exe, whose `&` ends a command:
        // everything after the first `&` would run as commands of its own. The URL protocol
        // handler takes the URL as one argument and starts the default browser.
        Platform::Windows => vec![(
            "rundll32".to_string(),
            vec!["url.dll,FileProtocolHandler".to_string(), url.to_string()],
        )],
        Platform::OtherUnix => {
            let mut out = Vec::new();
            for entry in browser_var
                .unwrap_or("")
                .split(':')
                .filter(|s| !s.trim().is_empty())
            {
                let mut parts = entry.split_whitespace().map(str::to_string);
                if let Some(program) = parts.next() {
                    let mut args: Vec<String> = parts.collect();
                    if args.iter().any(|a| a.contains("%s")) {
                        args = args.iter().map(|a| a.replace("%s", url)).collect();
                    } else {
                        args.push(url.to_string());
                    }
                    out.push((program, args));
                }
            }
            out.push(("xdg-open".to_string(), vec![url.to_string()]));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://t.example.com/am/oauth2/authorize?response_type=code&client_id=AICMCPClient&state=a&b";

    #[test]
    fn windows_opens_the_url_without_a_shell() {
        let cmds = browser_commands(Platform::Windows, Some("ignored"), URL);
        assert_eq!(
            cmds,
            vec![(
                "rundll32".to_string(),
                vec!["url.dll,FileProtocolHandler".to_string(), URL.to_string()]
            )]
        );
        for (program, args) in &cmds {
            assert_ne!(program, "cmd", "no cmd.exe: its & splits the URL");
            assert!(!args.iter().any(|a| a.eq_ignore_ascii_case("start")));
        }
    }

    #[test]
    fn macos_uses_open() {
        assert_eq!(
            browser_commands(Platform::MacOs, Some("ignored"), URL),
            vec![("open".to_string(), vec![URL.to_string()])]
        );
    }

    #[test]
    fn linux_honours_browser_then_falls_back_to_xdg_open() {
        let cmds = browser_commands(
            Platform::OtherUnix,
            Some("my-browser --new-window %s:other"),
            "https://x/y",
        );
        assert_eq!(
            cmds,
            vec![
                (
                    "my-browser".to_string(),
                    vec!["--new-window".to_string(), "https://x/y".to_string()]
                ),
                ("other".to_string(), vec!["https://x/y".to_string()]),
                ("xdg-open".to_string(), vec!["https://x/y".to_string()]),
            ]
        );
        assert_eq!(
            browser_commands(Platform::OtherUnix, None, URL),
            vec![("xdg-open".to_string(), vec![URL.to_string()])]
        );
    }
}
