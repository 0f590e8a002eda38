//! The tray icon and its menu: state icon, tenant, admin, token expiry, Log in / Log out,
//! Open monitor, Connect an assistant…, Open logs folder, Quit.

use std::sync::{Arc, Mutex};

use aic_mcp_core::auth::SessionState;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Emitter, Manager, Wry};

use aic_mcp_core::host::{HostStatus, ProfileOverview, ProfileSignIn, Supervisor};

const ICON_SIGNED_OUT: &[u8] = include_bytes!("../../icons/tray-signed-out.png");
const ICON_SIGNED_IN: &[u8] = include_bytes!("../../icons/tray-signed-in.png");
const ICON_BUSY: &[u8] = include_bytes!("../../icons/tray-busy.png");
const ICON_ERROR: &[u8] = include_bytes!("../../icons/tray-error.png");

/// The menu items whose text changes.
pub struct TrayMenu {
    tray: TrayIcon<Wry>,
    tenant: MenuItem<Wry>,
    admin: MenuItem<Wry>,
    expiry: MenuItem<Wry>,
    login: MenuItem<Wry>,
    logout: MenuItem<Wry>,
    /// "2 changes waiting for approval…": opens the Activity view.
    waiting: MenuItem<Wry>,
    /// Every profile with its sign-in; choosing one makes it active.
    tenants: Submenu<Wry>,
    tenants_shown: Mutex<Vec<TenantLine>>,
    waiting_count: Mutex<usize>,
    last_status: Mutex<Option<HostStatus>>,
    /// The icon shown: its state and the profile colour of its dot.
    shown_icon: Mutex<(&'static str, Option<[u8; 3]>)>,
}

pub type TrayState = Mutex<Option<Arc<TrayMenu>>>;

pub fn create(handle: &AppHandle) -> tauri::Result<()> {
    let info = |id: &str, text: &str| MenuItem::with_id(handle, id, text, false, None::<&str>);
    let action = |id: &str, text: &str| MenuItem::with_id(handle, id, text, true, None::<&str>);
    let tenant = info("tenant", "Tenant: …")?;
    let admin = info("admin", "Not signed in")?;
    let expiry = info("expiry", "")?;
    let waiting = action("approvals", "No changes waiting")?;
    let tenants = Submenu::with_id(handle, "tenants", "Tenants", true)?;
    tenants.append(&info("tenants-none", "No profiles: Settings adds them")?)?;
    let _ = waiting.set_enabled(false);
    let login = action("login", "Log in")?;
    let logout = action("logout", "Log out")?;
    let monitor = action("monitor", "Open monitor")?;
    let connect = action("connect", "Connect an assistant…")?;
    let logs = action("logs", "Open logs folder")?;
    let quit = action("quit", "Quit AIC MCP Desktop")?;
    let menu = Menu::with_items(
        handle,
        &[
            &tenant,
            &admin,
            &expiry,
            &waiting,
            &tenants,
            &PredefinedMenuItem::separator(handle)?,
            &login,
            &logout,
            &PredefinedMenuItem::separator(handle)?,
            &monitor,
            &connect,
            &logs,
            &PredefinedMenuItem::separator(handle)?,
            &quit,
        ],
    )?;
    let tray = TrayIconBuilder::with_id("main")
        .icon(Image::from_bytes(ICON_SIGNED_OUT)?)
        .tooltip("AIC MCP Desktop")
        .menu(&menu)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .build(handle)?;
    let state = handle.state::<TrayState>();
    if let Ok(mut slot) = state.lock() {
        *slot = Some(Arc::new(TrayMenu {
            tray,
            tenant,
            admin,
            expiry,
            login,
            logout,
            waiting,
            tenants,
            tenants_shown: Mutex::new(Vec::new()),
            waiting_count: Mutex::new(0),
            last_status: Mutex::new(None),
            shown_icon: Mutex::new(("signed-out", None)),
        }));
    }
    Ok(())
}

fn on_menu(app: &AppHandle, id: &str) {
    let supervisor = app.state::<Arc<Supervisor>>().inner().clone();
    match id {
        "login" => {
            show_window(app, Some("status"));
            tauri::async_runtime::spawn(async move {
                if let Err(e) = supervisor.login().await {
                    tracing::info!(error = %e, "login from the tray failed");
                }
            });
        }
        "logout" => {
            tauri::async_runtime::spawn(async move {
                if let Err(e) = supervisor.logout().await {
                    tracing::warn!(error = %e, "logout from the tray failed");
                }
            });
        }
        "monitor" | "approvals" => show_window(app, Some("activity")),
        id if id.starts_with(PROFILE_ITEM) => {
            let name = id[PROFILE_ITEM.len()..].to_string();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = supervisor.activate_profile(&name).await {
                    tracing::warn!(error = %e, profile = %name, "profile not made active from the tray");
                }
            });
        }
        "connect" => show_window(app, Some("connect")),
        "logs" => crate::commands::open_folder(&aic_mcp_core::config::default_log_dir()),
        "quit" => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                supervisor.stop().await;
                app.exit(0);
            });
        }
        _ => {}
    }
}

/// Shows, un-minimises and focuses the window, optionally on a view.
pub fn show_window(app: &AppHandle, view: Option<&str>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
    if let Some(view) = view {
        if let Err(e) = app.emit(NAVIGATE_EVENT, view) {
            tracing::warn!(error = %e, "could not switch the window's view");
        }
    }
}

/// `#rrggbb` as its three bytes.
pub fn parse_colour(text: &str) -> Option<[u8; 3]> {
    let hex = text.strip_prefix('#')?;
    if hex.len() != 6 || !hex.is_ascii() {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// An RGBA icon with a dot in `colour` in its lower right corner (a white ring around it
/// keeps it visible on any panel): the tray shows which profile is active.
pub fn with_profile_dot(rgba: &[u8], width: u32, height: u32, colour: [u8; 3]) -> Vec<u8> {
    let mut out = rgba.to_vec();
    let (w, h) = (f64::from(width), f64::from(height));
    let r = w.min(h) * 0.2;
    let (cx, cy) = (w - r - 1.0, h - r - 1.0);
    let ring = (w.min(h) * 0.05).max(1.0);
    for y in 0..height {
        for x in 0..width {
            // Squared distances: no libm call (hypot would tie the binary to a newer glibc).
            let (dx, dy) = (f64::from(x) + 0.5 - cx, f64::from(y) + 0.5 - cy);
            let d2 = dx * dx + dy * dy;
            let px = if d2 <= r * r {
                [colour[0], colour[1], colour[2], 255]
            } else if d2 <= (r + ring) * (r + ring) {
                [255, 255, 255, 255]
            } else {
                continue;
            };
            let i = ((y * width + x) * 4) as usize;
            if let Some(slot) = out.get_mut(i..i + 4) {
                slot.copy_from_slice(&px);
            }
        }
    }
    out
}

/// Menu ids of the Tenants submenu's items: this prefix and the profile's name.
const PROFILE_ITEM: &str = "profile:";

/// One line of the Tenants submenu: its id, text and whether it is the active profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantLine {
    pub id: String,
    pub text: String,
    pub active: bool,
}

/// "dev: signed in, 42 min left", "prod (PRODUCTION): signed out", one per profile.
pub fn tenant_lines(list: &[ProfileOverview], now_ms: i64) -> Vec<TenantLine> {
    list.iter()
        .map(|p| {
            let state = match p.sign_in {
                ProfileSignIn::SignedIn { expires_at_ms } => {
                    let left = (expires_at_ms - now_ms) / 60_000;
                    match left {
                        l if l < 1 => "signed in, less than a minute left".to_string(),
                        l if l < 120 => format!("signed in, {l} min left"),
                        l => format!("signed in, {} h {} min left", l / 60, l % 60),
                    }
                }
                ProfileSignIn::SignedOut => "signed out".into(),
                ProfileSignIn::Demo => "demo tenant".into(),
                ProfileSignIn::Unknown => "sign-in unknown (keychain)".into(),
            };
            let production = if p.production { " (PRODUCTION)" } else { "" };
            TenantLine {
                id: format!("{PROFILE_ITEM}{}", p.name),
                text: format!("{}{production}: {state}", p.name),
                active: p.active,
            }
        })
        .collect()
}

/// Rebuilds the Tenants submenu when what it shows changed.
pub fn set_tenants(handle: &AppHandle, list: &[ProfileOverview]) {
    let Some(menu) = menu(handle) else { return };
    let lines = tenant_lines(list, now_ms());
    if let Ok(mut shown) = menu.tenants_shown.lock() {
        if *shown == lines {
            return;
        }
        *shown = lines.clone();
    }
    if let Ok(items) = menu.tenants.items() {
        for item in items {
            let _ = menu.tenants.remove(&item);
        }
    }
    if lines.is_empty() {
        if let Ok(none) = MenuItem::with_id(
            handle,
            "tenants-none",
            "No profiles: Settings adds them",
            false,
            None::<&str>,
        ) {
            let _ = menu.tenants.append(&none);
        }
    }
    for line in lines {
        match CheckMenuItem::with_id(
            handle,
            &line.id,
            &line.text,
            true,
            line.active,
            None::<&str>,
        ) {
            Ok(item) => {
                let _ = menu.tenants.append(&item);
            }
            Err(e) => tracing::warn!(error = %e, "tray tenant line not shown"),
        }
    }
}

/// The window's event that switches its view.
pub const NAVIGATE_EVENT: &str = "navigate";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// "expires in 42 min"
pub fn expiry_text(expires_at_ms: Option<i64>, now_ms: i64) -> String {
    let Some(at) = expires_at_ms else {
        return String::new();
    };
    let left = (at - now_ms) / 1000;
    match left {
        l if l <= 0 => "Token expired".into(),
        l if l < 60 => format!("Token expires in {l} s"),
        l if l < 7200 => format!("Token expires in {} min", l / 60),
        l => format!("Token expires in {} h {} min", l / 3600, (l % 3600) / 60),
    }
}

fn menu(handle: &AppHandle) -> Option<Arc<TrayMenu>> {
    handle
        .state::<TrayState>()
        .lock()
        .ok()
        .and_then(|m| m.clone())
}

/// "2 changes waiting for approval": the menu line, and the tray's waiting state.
pub fn waiting_text(n: usize) -> String {
    match n {
        0 => "No changes waiting".into(),
        1 => "1 change waiting for approval…".into(),
        n => format!("{n} changes waiting for approval…"),
    }
}

/// Shows how many calls wait for the admin (the icon turns "waiting" while any do).
pub fn set_waiting(handle: &AppHandle, n: usize) {
    let Some(menu) = menu(handle) else { return };
    if let Ok(mut c) = menu.waiting_count.lock() {
        *c = n;
    }
    let _ = menu.waiting.set_text(waiting_text(n));
    let _ = menu.waiting.set_enabled(n > 0);
    let last = menu.last_status.lock().ok().and_then(|s| s.clone());
    if let Some(status) = last {
        update(handle, &status);
    }
}

/// Brings the tray in line with the status.
pub fn update(handle: &AppHandle, view: &HostStatus) {
    let Some(menu) = menu(handle) else {
        return;
    };
    if let Ok(mut last) = menu.last_status.lock() {
        *last = Some(view.clone());
    }
    let waiting = menu.waiting_count.lock().map(|c| *c).unwrap_or(0);
    let s = &view.session;
    let signed_in = s.state == SessionState::SignedIn;
    let tenant = match (view.demo, view.production) {
        (_, true) => format!("Tenant: {} (PRODUCTION, {})", s.tenant, view.mode.label()),
        (true, false) => format!("Tenant: {} (demo, {})", s.tenant, view.mode.label()),
        (false, false) => format!("Tenant: {} ({})", s.tenant, view.mode.label()),
    };
    let admin = match (&s.state, &s.admin) {
        (SessionState::SignedIn, Some(a)) => format!("Signed in as {a}"),
        (SessionState::SignedIn, None) => "Signed in".into(),
        (SessionState::SigningIn, _) => "Signing in…".into(),
        (SessionState::SignedOut, _) => "Not signed in".into(),
    };
    let expiry = if signed_in {
        expiry_text(s.expires_at_ms, now_ms())
    } else {
        String::new()
    };
    let _ = menu.tenant.set_text(tenant);
    let _ = menu.admin.set_text(&admin);
    let _ = menu.expiry.set_text(&expiry);
    let _ = menu
        .login
        .set_enabled(!signed_in && s.state != SessionState::SigningIn);
    let _ = menu.logout.set_enabled(signed_in);
    let (name, bytes) = match s.state {
        _ if waiting > 0 => ("waiting", ICON_BUSY),
        SessionState::SigningIn => ("busy", ICON_BUSY),
        SessionState::SignedIn => ("signed-in", ICON_SIGNED_IN),
        SessionState::SignedOut if s.last_error.is_some() || !view.endpoint_errors.is_empty() => {
            ("error", ICON_ERROR)
        }
        SessionState::SignedOut => ("signed-out", ICON_SIGNED_OUT),
    };
    // The active profile's colour, as a dot on the state icon.
    let colour = view.profile.as_ref().and_then(|p| parse_colour(&p.colour));
    if let Ok(mut shown) = menu.shown_icon.lock() {
        if *shown != (name, colour) {
            if let Ok(img) = Image::from_bytes(bytes) {
                let img = match colour {
                    Some(c) => {
                        let (w, h) = (img.width(), img.height());
                        Image::new_owned(with_profile_dot(img.rgba(), w, h, c), w, h)
                    }
                    None => img,
                };
                let _ = menu.tray.set_icon(Some(img));
            }
            *shown = (name, colour);
        }
    }
    // The active tenant first: its profile's name, else its host.
    let on = view
        .profile
        .as_ref()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| s.tenant.clone());
    let mut tooltip = if expiry.is_empty() {
        format!("AIC MCP Desktop: {on}: {admin}")
    } else {
        format!("AIC MCP Desktop: {on}: {admin} ({expiry})")
    };
    if waiting > 0 {
        tooltip = format!("{tooltip}\n{}", waiting_text(waiting).trim_end_matches('…'));
    }
    let _ = menu.tray.set_tooltip(Some(tooltip));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenants_menu_names_each_profile_with_its_sign_in_and_marks_the_active_one() {
        let now = 1_000_000_000;
        let profile = |name: &str, production, active, sign_in| ProfileOverview {
            name: name.into(),
            colour: "#2563eb".into(),
            tenant: format!("https://openam-{name}.forgeblocks.com"),
            production,
            active,
            sign_in,
            admin: None,
            mode: aic_mcp_core::policy::Mode::Ask,
        };
        let lines = tenant_lines(
            &[
                profile(
                    "dev",
                    false,
                    false,
                    ProfileSignIn::SignedIn {
                        expires_at_ms: now + 42 * 60_000 + 30_000,
                    },
                ),
                profile("prod", true, true, ProfileSignIn::SignedOut),
            ],
            now,
        );
        assert_eq!(
            lines,
            [
                TenantLine {
                    id: "profile:dev".into(),
                    text: "dev: signed in, 42 min left".into(),
                    active: false,
                },
                TenantLine {
                    id: "profile:prod".into(),
                    text: "prod (PRODUCTION): signed out".into(),
                    active: true,
                },
            ]
        );
        let later = tenant_lines(
            &[profile(
                "dev",
                false,
                true,
                ProfileSignIn::SignedIn {
                    expires_at_ms: now + (3 * 60 + 5) * 60_000,
                },
            )],
            now,
        );
        assert_eq!(later[0].text, "dev: signed in, 3 h 5 min left");
        assert!(tenant_lines(&[], now).is_empty());
    }

    #[test]
    fn the_icon_gets_a_dot_in_the_profile_colour_in_its_corner_only() {
        assert_eq!(parse_colour("#16a34a"), Some([0x16, 0xa3, 0x4a]));
        for bad in ["16a34a", "#16a34", "#zzzzzz", "#16a34aa", "#ｆｆｆｆ"] {
            assert_eq!(parse_colour(bad), None, "{bad}");
        }
        let (w, h) = (64u32, 64u32);
        let icon = vec![10u8; (w * h * 4) as usize];
        let dotted = with_profile_dot(&icon, w, h, [0x16, 0xa3, 0x4a]);
        assert_eq!(dotted.len(), icon.len());
        let px = |x: u32, y: u32| {
            let i = ((y * w + x) * 4) as usize;
            [dotted[i], dotted[i + 1], dotted[i + 2], dotted[i + 3]]
        };
        // The dot's centre, its ring, and the rest of the icon untouched.
        assert_eq!(px(50, 50), [0x16, 0xa3, 0x4a, 255]);
        assert_eq!(px(50, 63), [255, 255, 255, 255]);
        assert_eq!(px(0, 0), [10, 10, 10, 10]);
        assert_eq!(px(32, 32), [10, 10, 10, 10]);
        let changed = (0..w * h)
            .filter(|i| dotted[(*i * 4) as usize..(*i * 4 + 4) as usize] != [10, 10, 10, 10])
            .count();
        // A dot in the corner, not a repaint: less than a quarter of the icon.
        assert!(changed > 100 && changed < (w * h / 4) as usize, "{changed}");
    }

    #[test]
    fn the_waiting_line_counts_changes() {
        assert_eq!(waiting_text(0), "No changes waiting");
        assert_eq!(waiting_text(1), "1 change waiting for approval…");
        assert_eq!(waiting_text(3), "3 changes waiting for approval…");
    }

    #[test]
    fn expiry_reads_like_a_person_wrote_it() {
        assert_eq!(expiry_text(None, 0), "");
        assert_eq!(
            expiry_text(Some(42 * 60_000 + 500), 0),
            "Token expires in 42 min"
        );
        assert_eq!(expiry_text(Some(38_000), 0), "Token expires in 38 s");
        assert_eq!(expiry_text(Some(0), 5), "Token expired");
        assert_eq!(
            expiry_text(Some(3 * 3_600_000 + 5 * 60_000), 0),
            "Token expires in 3 h 5 min"
        );
    }
}
