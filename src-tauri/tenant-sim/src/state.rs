//! State shared by every connection of one simulator instance.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::faults::FaultList;
use crate::idm::IdmState;
use crate::logs::LogStore;
use crate::record::Recorder;
use crate::tokens::AuthState;
use crate::SimConfig;

pub(crate) struct Shared {
    pub(crate) cfg: SimConfig,
    pub(crate) base_url: String,
    pub(crate) recorder: Recorder,
    pub(crate) faults: FaultList,
    pub(crate) latency: Mutex<Duration>,
    pub(crate) auth: Mutex<AuthState>,
    pub(crate) idm: Mutex<IdmState>,
    pub(crate) logs: Mutex<LogStore>,
    pub(crate) themes: Mutex<crate::themes::State>,
    pub(crate) esv: Mutex<crate::esv::State>,
    pub(crate) features: Mutex<crate::features::State>,
    pub(crate) oidc: Mutex<crate::oidc::State>,
    pub(crate) am_trees: Mutex<crate::am_trees::State>,
    pub(crate) am_scripts: Mutex<crate::am_scripts::State>,
}

impl Shared {
    pub(crate) fn new(cfg: SimConfig, base_url: String) -> Self {
        Shared {
            recorder: Recorder::new(cfg.record_requests),
            cfg,
            base_url,
            faults: FaultList::default(),
            latency: Mutex::new(Duration::ZERO),
            auth: Mutex::new(AuthState::default()),
            idm: Mutex::new(IdmState::seeded()),
            logs: Mutex::new(LogStore::seeded()),
            themes: Mutex::new(crate::themes::State::seeded()),
            esv: Mutex::new(crate::esv::State::seeded()),
            features: Mutex::new(crate::features::State::seeded()),
            oidc: Mutex::new(crate::oidc::State::seeded()),
            am_trees: Mutex::new(crate::am_trees::State::seeded()),
            am_scripts: Mutex::new(crate::am_scripts::State::seeded()),
        }
    }

    /// Whether a username/password pair is one of the seeded admins.
    pub(crate) fn check_credentials(&self, username: &str, password: &str) -> bool {
        self.cfg
            .admins
            .iter()
            .any(|(u, p)| u == username && p == password)
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the simulator's state
/// stays usable for the rest of a test).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
