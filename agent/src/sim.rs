//! Virtual boards for `--sim`: each board is the master side of a pseudo-terminal
//! pair, and the agent's real serial driver opens the slave side by path, so the
//! same code runs against the simulator as against a real RS-485 adapter.

use crate::frame::{hex, Frame, Parse, Payload};
use serde_json::{json, Value};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The JSON-lines log every virtual board appends to.
#[derive(Clone, Default)]
pub struct SimLog {
    file: Arc<Mutex<Option<File>>>,
}

impl SimLog {
    pub fn open(path: Option<&Path>) -> std::io::Result<SimLog> {
        let file = match path {
            Some(p) => Some(OpenOptions::new().create(true).append(true).open(p)?),
            None => None,
        };
        Ok(SimLog { file: Arc::new(Mutex::new(file)) })
    }

    pub fn record(&self, device: &str, frame_bytes: &[u8], frame: &Frame) {
        let decoded = match Payload::from_frame(frame) {
            _ if frame.cmd == crate::guidance_screen::CMD => crate::guidance_screen::decode(frame).unwrap_or(Value::Null),
            Ok(p) => serde_json::to_value(&p).unwrap_or(Value::Null),
            Err(e) => json!({"error": e.to_string()}),
        };
        let line = json!({
            "ts": onecard_core::time::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "device": device,
            "cmd": frame.cmd,
            "hex": hex(frame_bytes),
            "decoded": decoded,
        });
        tracing::info!(target: "sim", device, frame = %line["decoded"], "board got frame");
        let mut guard = match self.file.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(f) = guard.as_mut() {
            // One write per line so concurrent boards never interleave inside a line.
            let mut text = line.to_string();
            text.push('\n');
            if let Err(e) = f.write_all(text.as_bytes()).and_then(|_| f.flush()) {
                tracing::warn!(error = %e, "sim log write failed");
            }
        }
    }
}

/// A running virtual board. Dropping it leaves the thread running for the life
/// of the process, which is what `--sim` wants.
pub struct SimBoard {
    pub device: String,
    /// The slave path the driver opens, e.g. `/dev/pts/7`.
    pub path: PathBuf,
    _slave: Arc<OwnedFd>,
}

fn raw(fd: &OwnedFd) -> nix::Result<()> {
    use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
    let mut t = tcgetattr(fd)?;
    cfmakeraw(&mut t);
    tcsetattr(fd, SetArg::TCSANOW, &t)
}

impl SimBoard {
    /// `silent` makes the board read and log frames but never answer, so a test
    /// can watch the driver give up with 620.
    pub fn spawn(device: &str, address: u8, silent: bool, log: SimLog) -> std::io::Result<SimBoard> {
        let pty = nix::pty::openpty(None, None).map_err(std::io::Error::from)?;
        // Raw on both ends: the line discipline must not turn 0x0A into 0x0D 0x0A
        // or swallow 0x03 as an interrupt.
        raw(&pty.slave).map_err(std::io::Error::from)?;
        raw(&pty.master).ok();
        let path = std::fs::read_link(format!("/proc/self/fd/{}", pty.slave.as_raw_fd()))?;
        let master = File::from(pty.master);
        let writer = master.try_clone()?;
        // Keeping our own slave descriptor open means the master never sees EOF/EIO
        // while the driver reopens the port.
        let slave = Arc::new(pty.slave);
        let dev = device.to_string();
        std::thread::Builder::new()
            .name(format!("sim-{device}"))
            .spawn(move || serve(dev, address, silent, master, writer, log))?;
        Ok(SimBoard { device: device.into(), path, _slave: slave })
    }
}

fn serve(device: String, address: u8, silent: bool, mut master: File, mut writer: File, log: SimLog) {
    let mut buf: Vec<u8> = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        let n = match master.read(&mut chunk) {
            Ok(0) => {
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(device, error = %e, "sim board stopped");
                return;
            }
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            match Frame::parse(&buf) {
                Parse::Frame(f, used) => {
                    let bytes = f.encode();
                    buf.drain(..used);
                    log.record(&device, &bytes, &f);
                    // A board ignores frames for other addresses on the shared bus.
                    if silent || f.addr != address {
                        continue;
                    }
                    let ack = if Payload::from_frame(&f).is_ok() { 0 } else { 1 };
                    if let Err(e) = writer.write_all(&Frame::ack(address, f.cmd, ack).encode()) {
                        tracing::warn!(device, error = %e, "sim board cannot answer");
                    }
                }
                Parse::Incomplete { junk } => {
                    buf.drain(..junk);
                    break;
                }
            }
        }
        // A runaway buffer means a header matched on noise; start over.
        if buf.len() > 4096 {
            buf.clear();
        }
    }
}
