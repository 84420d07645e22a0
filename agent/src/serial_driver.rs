//! A display/relay board on a serial line. Each board gets a worker thread
//! because `serialport` is blocking and a transaction (write, wait for the ACK,
//! retry) must not interleave with another one on the same line.

use crate::frame::{Frame, Parse, Payload};
use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

#[derive(Clone, Debug)]
pub struct BoardConfig {
    pub port: String,
    pub baud: u32,
    pub address: u8,
    /// Sends per frame before the board counts as silent.
    pub tries: u32,
    pub reply_window: Duration,
}

impl BoardConfig {
    pub fn new(port: &str, baud: u32, address: u8) -> BoardConfig {
        BoardConfig { port: port.into(), baud, address, tries: 3, reply_window: Duration::from_millis(300) }
    }
}

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeviceError {
    #[error("device silent after {0} tries")]
    Silent(u32),
    #[error("device refused the frame (ACK {0})")]
    Refused(u8),
    #[error("serial port: {0}")]
    Io(String),
}

impl DeviceError {
    pub fn ack_code(&self) -> i64 {
        use onecard_core::link::ack_code;
        match self {
            DeviceError::Silent(_) => ack_code::DEVICE_TIMEOUT,
            DeviceError::Refused(_) => ack_code::DEVICE_REFUSED,
            // An unopenable port looks to the cloud like a board that never answers.
            DeviceError::Io(_) => ack_code::DEVICE_TIMEOUT,
        }
    }
}

struct Job {
    frame: Frame,
    done: oneshot::Sender<Result<(), DeviceError>>,
}

/// Handle to a board's worker thread. Cloning shares the worker.
#[derive(Clone)]
pub struct Board {
    cfg: BoardConfig,
    jobs: mpsc::Sender<Job>,
}

impl Board {
    /// Never fails: a port that cannot be opened now is retried on every frame,
    /// so a board plugged in later starts working without a restart.
    pub fn start(cfg: BoardConfig) -> Board {
        let (tx, rx) = mpsc::channel::<Job>();
        let worker_cfg = cfg.clone();
        let name = format!("board-{}", cfg.port.rsplit('/').next().unwrap_or("?"));
        let spawned = std::thread::Builder::new().name(name).spawn(move || worker(worker_cfg, rx));
        if let Err(e) = spawned {
            tracing::error!(error = %e, port = %cfg.port, "cannot start board worker");
        }
        Board { cfg, jobs: tx }
    }

    /// Another board on the same line (RS-485 bus): same worker, so frames to
    /// the two never interleave, and the port is opened once (it is opened
    /// exclusively).
    pub fn with_address(&self, address: u8) -> Board {
        let mut cfg = self.cfg.clone();
        cfg.address = address;
        Board { cfg, jobs: self.jobs.clone() }
    }

    pub fn config(&self) -> &BoardConfig {
        &self.cfg
    }

    pub async fn send(&self, payload: &Payload) -> Result<(), DeviceError> {
        let (done, wait) = oneshot::channel();
        let frame = payload.to_frame(self.cfg.address);
        self.jobs.send(Job { frame, done }).map_err(|_| DeviceError::Io("board worker stopped".into()))?;
        wait.await.unwrap_or_else(|_| Err(DeviceError::Io("board worker stopped".into())))
    }
}

fn open(cfg: &BoardConfig) -> Result<Box<dyn serialport::SerialPort>, DeviceError> {
    serialport::new(&cfg.port, cfg.baud)
        .timeout(Duration::from_millis(20))
        .open()
        .map_err(|e| DeviceError::Io(format!("{}: {e}", cfg.port)))
}

fn worker(cfg: BoardConfig, jobs: mpsc::Receiver<Job>) {
    let mut port: Option<Box<dyn serialport::SerialPort>> = None;
    while let Ok(job) = jobs.recv() {
        if port.is_none() {
            match open(&cfg) {
                Ok(p) => port = Some(p),
                Err(e) => {
                    let _ = job.done.send(Err(e));
                    continue;
                }
            }
        }
        let Some(p) = port.as_mut() else { continue };
        let res = transact(p.as_mut(), &job.frame, cfg.tries, cfg.reply_window);
        if let Err(DeviceError::Io(_)) = &res {
            // A broken port (USB adapter pulled) is reopened on the next frame.
            port = None;
        }
        let _ = job.done.send(res);
    }
}

/// One frame with retries: write it, then read until the matching ACK or the
/// reply window ends. Replies to other commands (a late ACK of an earlier try)
/// are skipped.
pub fn transact<P: Read + Write + ?Sized>(port: &mut P, frame: &Frame, tries: u32, window: Duration) -> Result<(), DeviceError> {
    let bytes = frame.encode();
    let tries = tries.max(1);
    for _ in 0..tries {
        port.write_all(&bytes).and_then(|_| port.flush()).map_err(|e| DeviceError::Io(e.to_string()))?;
        let deadline = Instant::now() + window;
        let mut buf: Vec<u8> = Vec::with_capacity(64);
        while Instant::now() < deadline {
            let mut chunk = [0u8; 128];
            match port.read(&mut chunk) {
                Ok(0) => std::thread::sleep(Duration::from_millis(5)),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) => {}
                Err(e) => return Err(DeviceError::Io(e.to_string())),
            }
            loop {
                match Frame::parse(&buf) {
                    Parse::Frame(f, used) => {
                        buf.drain(..used);
                        if let Some(ack) = f.reply_ack(frame.addr, frame.cmd) {
                            return if ack == 0 { Ok(()) } else { Err(DeviceError::Refused(ack)) };
                        }
                    }
                    Parse::Incomplete { junk } => {
                        buf.drain(..junk);
                        break;
                    }
                }
            }
        }
        tracing::debug!(addr = frame.addr, cmd = frame.cmd, "no reply, retrying");
    }
    Err(DeviceError::Silent(tries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::cmd;
    use std::collections::VecDeque;

    /// A line whose board answers from a script.
    struct Script {
        replies: VecDeque<Vec<u8>>,
        written: usize,
    }
    impl Read for Script {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            match self.replies.pop_front() {
                Some(r) => {
                    let n = r.len().min(b.len());
                    b[..n].copy_from_slice(&r[..n]);
                    Ok(n)
                }
                None => Err(std::io::ErrorKind::TimedOut.into()),
            }
        }
    }
    impl Write for Script {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.written += 1;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn ack_zero_is_ok_nonzero_refused_none_silent() {
        let f = Frame::new(1, cmd::VOICE, vec![2]);
        let mut ok = Script { replies: [vec![0xAA], Frame::ack(1, cmd::VOICE, 0).encode()].into(), written: 0 };
        assert_eq!(transact(&mut ok, &f, 3, Duration::from_millis(50)), Ok(()));
        let mut no = Script { replies: [Frame::ack(1, cmd::VOICE, 4).encode()].into(), written: 0 };
        assert_eq!(transact(&mut no, &f, 3, Duration::from_millis(50)), Err(DeviceError::Refused(4)));
        let mut silent = Script { replies: [Frame::ack(9, cmd::VOICE, 0).encode()].into(), written: 0 };
        assert_eq!(transact(&mut silent, &f, 3, Duration::from_millis(20)), Err(DeviceError::Silent(3)));
        assert_eq!(silent.written, 3);
    }
}
