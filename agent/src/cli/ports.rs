//! `onecard-agent ports`: the serial ports this box has, read from sysfs (no
//! libudev, so the static builds list them too), with USB ids, serial numbers,
//! the stable `/dev/serial/by-*` names and which configured device uses each.
//! `--udev` prints rules that give each USB adapter a fixed name. Exit 0 when
//! at least one port was found, 1 when none.

use super::DEFAULT_CONFIG;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Marks ports the config's devices use.
    #[arg(long, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Print udev rules naming each USB adapter /dev/onecard/NAME.
    #[arg(long)]
    pub udev: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PortInfo {
    /// `/dev/ttyUSB0`.
    pub path: String,
    pub driver: String,
    pub usb: Option<UsbInfo>,
    /// `/dev/serial/by-id/...` and `/dev/serial/by-path/...` links to it.
    pub stable: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UsbInfo {
    pub vid: String,
    pub pid: String,
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    /// The USB socket, e.g. `1-1.2` (udev's KERNELS): stable for adapters
    /// without a serial number as long as they stay in the same socket.
    pub bus_path: String,
}

fn read_trim(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Scans `sys/class/tty` and `dev/serial` under `root` ("/" on a real box).
pub fn scan(root: &Path) -> Vec<PortInfo> {
    let class = root.join("sys/class/tty");
    let mut links: HashMap<String, Vec<String>> = HashMap::new();
    for kind in ["by-id", "by-path"] {
        let dir = root.join("dev/serial").join(kind);
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if let Ok(target) = std::fs::read_link(e.path()) {
                if let Some(name) = target.file_name() {
                    links.entry(name.to_string_lossy().into_owned()).or_default().push(format!("/dev/serial/{kind}/{}", e.file_name().to_string_lossy()));
                }
            }
        }
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(&class).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let dev_link = e.path().join("device");
        let Ok(device) = std::fs::canonicalize(&dev_link) else { continue };
        let driver = std::fs::read_link(device.join("driver")).ok().and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned())).unwrap_or_default();
        if driver.is_empty() {
            continue;
        }
        // The 8250 driver registers ports that have no UART behind them;
        // their `type` is 0 ("unknown"). USB adapters have no `type`.
        if read_trim(&e.path().join("type")).as_deref() == Some("0") {
            continue;
        }
        let usb = device.ancestors().find(|a| a.join("idVendor").is_file()).map(|u| UsbInfo {
            vid: read_trim(&u.join("idVendor")).unwrap_or_default(),
            pid: read_trim(&u.join("idProduct")).unwrap_or_default(),
            serial: read_trim(&u.join("serial")),
            manufacturer: read_trim(&u.join("manufacturer")),
            product: read_trim(&u.join("product")),
            bus_path: u.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        });
        let mut stable = links.remove(&name).unwrap_or_default();
        stable.sort();
        out.push(PortInfo { path: format!("/dev/{name}"), driver, usb, stable });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// A udev rule giving the adapter `/dev/onecard/NAME`: by serial number when
/// it has one, else by the USB socket it is plugged into.
pub fn udev_rule(p: &PortInfo, name: &str) -> Option<String> {
    let u = p.usb.as_ref()?;
    let which = match &u.serial {
        Some(s) => format!("ATTRS{{serial}}==\"{s}\""),
        None => format!("KERNELS==\"{}\"", u.bus_path),
    };
    Some(format!(
        "SUBSYSTEM==\"tty\", ATTRS{{idVendor}}==\"{}\", ATTRS{{idProduct}}==\"{}\", {which}, SYMLINK+=\"onecard/{name}\", GROUP=\"dialout\", MODE=\"0660\"",
        u.vid, u.pid
    ))
}

/// Which configured devices sit on each port (by any of its names).
fn users(config: &Path) -> HashMap<String, Vec<String>> {
    let mut m: HashMap<String, Vec<String>> = HashMap::new();
    let Ok(path) = super::devices_path(None, config) else { return m };
    let Ok(specs) = crate::config::load_devices(&path) else { return m };
    for d in specs {
        // Resolve symlinks (/dev/serial/by-id/..., /dev/onecard/...) to the tty.
        let real = std::fs::canonicalize(&d.port).map(|p| p.display().to_string()).unwrap_or(d.port.clone());
        m.entry(real).or_default().push(d.id);
    }
    m
}

pub fn run(args: &Args) -> i32 {
    let ports = scan(Path::new("/"));
    let used = users(&args.config);
    if args.json {
        for p in &ports {
            let mut v = serde_json::to_value(p).unwrap_or_default();
            v["devices"] = serde_json::json!(used.get(&p.path).cloned().unwrap_or_default());
            println!("{v}");
        }
    } else if args.udev {
        println!("# /etc/udev/rules.d/99-onecard-serial.rules; then: udevadm control --reload && udevadm trigger");
        println!("# Rename onecard/... to what the adapter serves (entry1, exit1, doors) and use that path in devices.toml.");
        for (i, p) in ports.iter().filter(|p| p.usb.is_some()).enumerate() {
            let u = p.usb.as_ref().map(|u| u.serial.clone().unwrap_or_else(|| format!("port{}", i + 1))).unwrap_or_default();
            if let Some(rule) = udev_rule(p, &u.to_ascii_lowercase()) {
                println!("# {} now", p.path);
                println!("{rule}");
            }
        }
    } else {
        println!("{:<14} {:<10} {:<18} {:<32} {:<12} STABLE NAME", "PORT", "USB ID", "SERIAL", "ADAPTER", "USED BY");
        for p in &ports {
            let (id, serial, what) = match &p.usb {
                Some(u) => (
                    format!("{}:{}", u.vid, u.pid),
                    u.serial.clone().unwrap_or_else(|| format!("(none; socket {})", u.bus_path)),
                    [u.manufacturer.clone(), u.product.clone()].into_iter().flatten().collect::<Vec<_>>().join(" "),
                ),
                None => ("-".into(), "-".into(), p.driver.clone()),
            };
            let by = used.get(&p.path).map(|v| v.join(",")).unwrap_or_else(|| "-".into());
            println!("{:<14} {:<10} {:<18} {:<32} {:<12} {}", p.path, id, serial, what, by, p.stable.first().map(String::as_str).unwrap_or("-"));
        }
        if ports.is_empty() {
            println!("no serial ports found: is the USB adapter plugged in? (dmesg | tail)");
        }
    }
    if ports.is_empty() {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn write(p: &Path, text: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// A sysfs the way the kernel lays it out for an FTDI adapter (serial
    /// number), a CH340 (none), a real UART and a phantom 8250 port.
    fn fake_root() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let usb1 = r.join("sys/devices/pci0000:00/usb1/1-1");
        write(&usb1.join("idVendor"), "0403\n");
        write(&usb1.join("idProduct"), "6001\n");
        write(&usb1.join("serial"), "A50285BI\n");
        write(&usb1.join("manufacturer"), "FTDI\n");
        write(&usb1.join("product"), "FT232R USB UART\n");
        let usb2 = r.join("sys/devices/pci0000:00/usb1/1-2");
        write(&usb2.join("idVendor"), "1a86\n");
        write(&usb2.join("idProduct"), "7523\n");
        write(&usb2.join("product"), "USB Serial\n");
        let drivers = r.join("sys/bus/drivers");
        for d in ["ftdi_sio", "ch341-uart", "serial8250", "port"] {
            std::fs::create_dir_all(drivers.join(d)).unwrap();
        }
        let tty = |name: &str, dev: PathBuf, driver: &str, ty: Option<&str>| {
            std::fs::create_dir_all(&dev).unwrap();
            symlink(drivers.join(driver), dev.join("driver")).unwrap();
            let class = r.join("sys/class/tty").join(name);
            std::fs::create_dir_all(&class).unwrap();
            symlink(&dev, class.join("device")).unwrap();
            if let Some(t) = ty {
                write(&class.join("type"), t);
            }
        };
        tty("ttyUSB0", usb1.join("1-1:1.0/ttyUSB0"), "ftdi_sio", None);
        tty("ttyUSB1", usb2.join("1-2:1.0/ttyUSB1"), "ch341-uart", None);
        tty("ttyS0", r.join("sys/devices/pnp0/00:01"), "serial8250", Some("4\n"));
        tty("ttyS3", r.join("sys/devices/platform/serial8250"), "serial8250", Some("0\n"));
        // Kernels from 6.5 put a serial-base `port` device in between.
        tty("ttyS4", r.join("sys/devices/platform/serial8250/serial8250:0/serial8250:0.4"), "port", Some("0\n"));
        // A virtual console: no device link at all.
        std::fs::create_dir_all(r.join("sys/class/tty/tty1")).unwrap();
        std::fs::create_dir_all(r.join("dev/serial/by-id")).unwrap();
        symlink("../../ttyUSB0", r.join("dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0")).unwrap();
        root
    }

    #[test]
    fn usb_adapters_and_real_uarts_are_listed_phantoms_are_not() {
        let root = fake_root();
        let ports = scan(root.path());
        let names: Vec<&str> = ports.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(names, vec!["/dev/ttyS0", "/dev/ttyUSB0", "/dev/ttyUSB1"]);
        let ftdi = &ports[1];
        let u = ftdi.usb.as_ref().unwrap();
        assert_eq!((u.vid.as_str(), u.pid.as_str(), u.serial.as_deref()), ("0403", "6001", Some("A50285BI")));
        assert_eq!(ftdi.driver, "ftdi_sio");
        assert_eq!(ftdi.stable, vec!["/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"]);
        assert!(ports[0].usb.is_none());
        assert_eq!(ports[2].usb.as_ref().unwrap().bus_path, "1-2");
    }

    #[test]
    fn udev_rules_use_the_serial_number_or_else_the_socket() {
        let root = fake_root();
        let ports = scan(root.path());
        let r = udev_rule(&ports[1], "entry1").unwrap();
        assert_eq!(r, r#"SUBSYSTEM=="tty", ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6001", ATTRS{serial}=="A50285BI", SYMLINK+="onecard/entry1", GROUP="dialout", MODE="0660""#);
        let r = udev_rule(&ports[2], "exit1").unwrap();
        assert!(r.contains(r#"KERNELS=="1-2""#), "{r}");
        assert!(udev_rule(&ports[0], "x").is_none());
    }
}
