//! systemd's readiness/watchdog protocol, by hand: one datagram of
//! `KEY=VALUE` lines to the socket named in `$NOTIFY_SOCKET`. Outside systemd
//! (no variable) every call is a no-op, so the same binary runs anywhere.
//! A crate would pull in more than these forty lines are worth.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

/// Where systemd listens, if it does.
#[derive(Clone, Debug)]
pub struct Notifier {
    socket: Option<Target>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Path(PathBuf),
    /// Linux abstract namespace (`@name` in the variable).
    Abstract(Vec<u8>),
}

impl Notifier {
    /// Reads `$NOTIFY_SOCKET` (and leaves it set: the agent starts no children
    /// that could confuse systemd by writing to it).
    pub fn from_env() -> Notifier {
        Notifier::from_value(std::env::var_os("NOTIFY_SOCKET").map(|v| v.to_string_lossy().into_owned()))
    }

    pub fn from_value(v: Option<String>) -> Notifier {
        let socket = v.filter(|s| !s.is_empty()).map(|s| match s.strip_prefix('@') {
            Some(name) => Target::Abstract(name.as_bytes().to_vec()),
            None => Target::Path(PathBuf::from(s)),
        });
        Notifier { socket }
    }

    pub fn enabled(&self) -> bool {
        self.socket.is_some()
    }

    /// Sends one state message; failures are logged, never fatal (a restarted
    /// systemd re-creates the socket, and the next beat reaches it).
    pub fn notify(&self, state: &str) -> bool {
        let Some(target) = &self.socket else { return false };
        let res = (|| -> std::io::Result<()> {
            let sock = UnixDatagram::unbound()?;
            match target {
                Target::Path(p) => sock.send_to(state.as_bytes(), p)?,
                Target::Abstract(name) => {
                    use std::os::linux::net::SocketAddrExt;
                    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                    sock.send_to_addr(state.as_bytes(), &addr)?
                }
            };
            Ok(())
        })();
        if let Err(e) = &res {
            tracing::warn!(error = %e, "sd_notify failed");
        }
        res.is_ok()
    }

    pub fn ready(&self, status: &str) -> bool {
        self.notify(&format!("READY=1\nSTATUS={status}"))
    }

    pub fn watchdog(&self, status: &str) -> bool {
        self.notify(&format!("WATCHDOG=1\nSTATUS={status}"))
    }

    pub fn stopping(&self) -> bool {
        self.notify("STOPPING=1")
    }
}

/// How often to feed the watchdog: half of `$WATCHDOG_USEC` (systemd's own
/// advice), if it is set for this process (`$WATCHDOG_PID` absent or ours).
pub fn watchdog_interval() -> Option<Duration> {
    let usec = std::env::var("WATCHDOG_USEC").ok()?;
    let pid = std::env::var("WATCHDOG_PID").ok();
    watchdog_interval_from(&usec, pid.as_deref(), std::process::id())
}

pub fn watchdog_interval_from(usec: &str, pid: Option<&str>, me: u32) -> Option<Duration> {
    if pid.is_some_and(|p| p.trim().parse::<u32>().ok() != Some(me)) {
        return None;
    }
    let us: u64 = usec.trim().parse().ok().filter(|u| *u > 0)?;
    Some(Duration::from_micros(us / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let server = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::from_value(Some(path.display().to_string()));
        assert!(n.enabled());
        assert!(n.ready("up"));
        assert!(n.watchdog("beat"));
        let mut buf = [0u8; 256];
        let len = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"READY=1\nSTATUS=up");
        let len = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"WATCHDOG=1\nSTATUS=beat");
    }

    #[test]
    fn abstract_sockets_work_and_no_socket_is_a_no_op() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("onecard-agent-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let server = UnixDatagram::bind_addr(&addr).unwrap();
        assert!(Notifier::from_value(Some(format!("@{name}"))).ready("x"));
        let mut buf = [0u8; 64];
        let len = server.recv(&mut buf).unwrap();
        assert!(buf[..len].starts_with(b"READY=1"));
        let none = Notifier::from_value(None);
        assert!(!none.enabled());
        assert!(!none.ready("x"));
        assert!(!Notifier::from_value(Some(String::new())).enabled());
    }

    #[test]
    fn watchdog_interval_is_half_and_only_for_this_pid() {
        assert_eq!(watchdog_interval_from("30000000", None, 7), Some(Duration::from_secs(15)));
        assert_eq!(watchdog_interval_from("30000000", Some("7"), 7), Some(Duration::from_secs(15)));
        assert_eq!(watchdog_interval_from("30000000", Some("8"), 7), None);
        assert_eq!(watchdog_interval_from("0", None, 7), None);
        assert_eq!(watchdog_interval_from("x", None, 7), None);
    }
}
