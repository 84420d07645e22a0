//! The agent: wires the cloud link, the devices, the outbox and the camera
//! intake together, and holds the lane logic (ask the cloud, else decide
//! offline; act; record).

pub use crate::camera::{PlateAnswer, PlateEvent};
use crate::camera::PlateSink;
use crate::config::{parse_lane, AgentConfig, DeviceSpec};
use crate::decide::{self, Decision};
use crate::devices::Devices;
use crate::frame::Payload;
use crate::inpark::InPark;
use crate::link_client::{Inbound, Link, LinkConfig};
use crate::outbox::{Limits, Outbox, OutboxError};
use crate::pictures::{PictureQueue, Uploader};
use crate::plates::{MonthlyList, SiteStore};
use crate::serial_driver::DeviceError;
use crate::sim::SimLog;
use onecard_core::config::Lane;
use onecard_core::fields::normalize_plate;
use onecard_core::link::{action, route, OfflinePolicy, PassAnswer, SiteConfig};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long one outbox record waits for the cloud's reply before the flush
/// stops and retries later.
const FLUSH_REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Routes whose records are never refused when the outbox is full.
const ESSENTIAL: &[&str] = &[route::UPLOAD_INDATA, route::UPLOAD_OUTDATA];
/// One fault report per device per this long, so a dead board does not flood.
const FAULT_REPORT_GAP: Duration = Duration::from_secs(60);

/// Where a lane is: from the device file or from the cloud's controller list.
#[derive(Clone, Debug)]
struct LaneInfo {
    device_id: String,
    controller_no: String,
    name: String,
    lane: Lane,
    area: String,
}

struct Site {
    cfg: SiteConfig,
    monthly: MonthlyList,
}

pub struct Agent {
    pub cfg: AgentConfig,
    pub link: Link,
    pub devices: Arc<Devices>,
    pub outbox: Arc<Outbox>,
    site: RwLock<Site>,
    store: SiteStore,
    inpark: InPark,
    flush: Notify,
    faults: Mutex<HashMap<String, Instant>>,
    /// Last full-disk report, so a full disk is reported once a minute, not per car.
    disk_full_reported: Mutex<Option<Instant>>,
    pub pictures: Arc<Uploader>,
    /// Lanes whose gate is held open for peak hours: no pulse per car.
    peak: Mutex<std::collections::HashSet<String>>,
}

/// A running agent.
pub struct Running {
    pub agent: Arc<Agent>,
    /// The camera intake's bound address (useful with port 0).
    pub camera_addr: SocketAddr,
}

impl Agent {
    pub async fn start(cfg: AgentConfig) -> anyhow::Result<Running> {
        crate::set_timezone(&cfg.tz);
        // The ws:// and camera-listen rules are start-up checks of the
        // binary's config (`AgentConfig::from_flags`); an embedding (the
        // local server's demo site) may talk to its own host. Without
        // `[[camera]]` rules the intake admits loopback peers only anyway.
        // wss:// and https:// use rustls; one provider for the process.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        std::fs::create_dir_all(&cfg.data_dir)?;
        let limits = Limits { max_records: cfg.outbox_max_records, max_bytes: cfg.outbox_max_bytes };
        let (outbox, rec) = Outbox::open(&cfg.data_dir.join("outbox"), limits)?;
        tracing::info!(pending = rec.pending, dropped_bytes = rec.dropped_bytes, "outbox opened");

        let sim = if cfg.sim { Some(SimLog::open(cfg.sim_log.as_deref())?) } else { None };
        let devices = Devices::new(sim, cfg.sim_silent.clone(), cfg.board_tries, cfg.board_reply_window);
        for d in &cfg.devices {
            devices.add(d.clone())?;
        }

        let store = SiteStore::new(&cfg.data_dir);
        let cached = store.load().unwrap_or_default();
        let site = Site { monthly: MonthlyList::new(&cached.monthly_plates), cfg: cached };

        let (link, inbound) = Link::start_holding(Some(&site.cfg), LinkConfig {
            url: cfg.cloud.clone(),
            branch: cfg.branch.clone(),
            agent_id: cfg.agent_id.clone(),
            secret: cfg.secret.clone(),
            heartbeat: cfg.heartbeat,
            planned_reconnect: cfg.planned_reconnect,
            silence_limit: onecard_core::link::SILENCE_LIMIT.max(cfg.heartbeat * 3),
            backoff_base: cfg.backoff_base,
            backoff_cap: cfg.backoff_cap,
        });

        let queue = Arc::new(PictureQueue::open(&cfg.data_dir, crate::pictures::QUEUE_MAX_BYTES)?);
        let pictures = Arc::new(Uploader::new(queue, &cfg.cloud, cfg.pictures_url.as_deref(), &cfg.branch, &cfg.agent_id, cfg.secret.clone())?);
        tokio::spawn(Arc::clone(&pictures).run(cfg.backoff_base, cfg.backoff_cap));

        let cfg_dir = cfg.data_dir.clone();
        let agent = Arc::new(Agent {
            cfg,
            link,
            devices,
            outbox: Arc::new(outbox),
            site: RwLock::new(site),
            store,
            inpark: InPark::open(&cfg_dir),
            flush: Notify::new(),
            faults: Mutex::new(HashMap::new()),
            disk_full_reported: Mutex::new(None),
            pictures,
            peak: Mutex::new(Default::default()),
        });
        let weak = Arc::downgrade(&agent);
        agent.devices.set_fault_hook(Arc::new(move |spec, err| {
            if let Some(a) = weak.upgrade() {
                a.report_fault(spec, err);
            }
        }));
        // Sim boards for the cached controllers, so a restart while the cloud is
        // down still drives the (virtual) lanes.
        agent.ensure_sim_boards();
        crate::doors_offline::ensure_sim_doors(&agent);

        tokio::spawn(Arc::clone(&agent).inbound_loop(inbound));
        tokio::spawn(Arc::clone(&agent).flush_loop());
        let camera_addr = crate::camera::serve(Arc::clone(&agent) as Arc<dyn PlateSink>, &agent.cfg.camera_listen, agent.cfg.cameras.clone()).await?;
        tracing::info!(%camera_addr, "camera intake listening");
        Ok(Running { agent, camera_addr })
    }

    fn read_site(&self) -> std::sync::RwLockReadGuard<'_, Site> {
        self.site.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn site_config(&self) -> SiteConfig {
        self.read_site().cfg.clone()
    }

    /// Reads the door rules in place: with tens of thousands of cards (and
    /// plates beside them) a copy of the configuration per door read would
    /// cost more than the decision.
    pub fn with_door_rules<R>(&self, f: impl FnOnce(Option<&onecard_core::link::doors::DoorRules>) -> R) -> R {
        f(self.read_site().cfg.doors.as_ref())
    }

    fn policy(&self) -> OfflinePolicy {
        self.read_site()
            .cfg
            .offline
            .clone()
            .unwrap_or_else(|| OfflinePolicy { entry: self.cfg.offline_entry.clone(), exit: self.cfg.offline_exit.clone() })
    }

    /// With `--sim` and no device file, one virtual board per controller.
    fn ensure_sim_boards(&self) {
        if !self.cfg.sim || self.cfg.devices_from_file {
            return;
        }
        let controllers = self.read_site().cfg.controllers.clone();
        for c in controllers {
            if self.devices.has(&c.device_id) {
                continue;
            }
            let spec = DeviceSpec {
                id: c.device_id.clone(),
                kind: Default::default(),
                port: String::new(),
                baud: 9600,
                address: 0,
                controller_no: c.controller_no.clone(),
                name: c.name.clone(),
                lane: Some(if c.lane == Lane::In { "entry".into() } else { "exit".into() }),
                area: c.area.clone(),
                silent: false,
            };
            if let Err(e) = self.devices.add(spec) {
                tracing::error!(device = %c.device_id, error = %e, "cannot start a virtual board");
            }
        }
    }

    async fn inbound_loop(self: Arc<Self>, mut rx: tokio::sync::mpsc::UnboundedReceiver<Inbound>) {
        while let Some(ev) = rx.recv().await {
            match ev {
                Inbound::Up => {
                    tracing::info!("cloud link up");
                    self.flush.notify_one();
                }
                Inbound::Down => tracing::warn!("cloud link down; deciding locally"),
                Inbound::SiteConfig(s) => self.apply_site_config(s),
                Inbound::Command(c) => {
                    let me = Arc::clone(&self);
                    tokio::spawn(async move {
                        let ack = if c.action == onecard_core::link::logs::ACTION {
                            crate::logs::serve(&me.cfg.data_dir, &me.cfg.agent_id, &c)
                        } else if let Some(a) = crate::faces::handle(&me, &c).await {
                            a
                        } else {
                            me.devices.execute(&c).await
                        };
                        tracing::info!(id = %c.id, action = %c.action, device = %c.device, code = ack.code, "command done");
                        if ack.ok && c.action == action::GATE_PEAKMODE {
                            let on = c.params.get("on").and_then(Value::as_bool).unwrap_or(false);
                            let id = me.devices.find(&c.device).map(|d| d.spec.id).unwrap_or(c.device.clone());
                            let mut peak = me.peak.lock().unwrap_or_else(|p| p.into_inner());
                            if on {
                                peak.insert(id);
                            } else {
                                peak.remove(&id);
                            }
                        }
                        if ack.ok && (c.action.starts_with("gate.")) {
                            me.gate_state_notice(&c.device, &c.action, &c.params);
                        }
                        if !me.link.send_ack(ack) {
                            tracing::warn!(id = %c.id, "ack lost: link went down");
                        }
                    });
                }
            }
        }
    }

    pub fn apply_site_config(&self, s: SiteConfig) {
        let (black, locked) = s.lanes.as_ref().map_or((0, 0), |l| (l.blacklist.len(), l.locked.len()));
        let (doors, cards) = s.doors.as_ref().map_or((0, 0), |d| (d.doors.len(), d.cards.len()));
        tracing::info!(version = %s.version, controllers = s.controllers.len(), plates = s.monthly_plates.len(), blacklist = black, locked, doors, cards, "site config");
        if let Err(e) = self.store.save(&s) {
            tracing::warn!(error = %e, "cannot cache the site config");
        }
        {
            let mut site = self.site.write().unwrap_or_else(|p| p.into_inner());
            site.monthly = MonthlyList::new(&s.monthly_plates);
            site.cfg = s;
        }
        self.ensure_sim_boards();
        crate::doors_offline::ensure_sim_doors(self);
    }

    /// Sends the outbox in order, one record at a time, each removed only after
    /// the cloud answers it. Runs on every wake-up and every few seconds.
    async fn flush_loop(self: Arc<Self>) {
        loop {
            let _ = tokio::time::timeout(Duration::from_secs(5), self.flush.notified()).await;
            self.flush_once().await;
        }
    }

    /// Returns how many records were delivered.
    pub async fn flush_once(&self) -> usize {
        let mut sent = 0;
        while self.link.is_up() {
            let Some(e) = self.outbox.first() else { break };
            match self.link.uplink_with_id(&e.id, &e.route, e.data.clone(), FLUSH_REPLY_TIMEOUT).await {
                Ok(r) => match answer_kind(&e.route, &r) {
                    Answer::Retry => {
                        tracing::warn!(id = %e.id, code = r.code, message = %r.message, "cloud asked to retry later");
                        break;
                    }
                    Answer::Done | Answer::Unsupported => {
                        if !r.ok() {
                            tracing::info!(id = %e.id, route = %e.route, code = r.code, "cloud does not take this notice; dropped");
                        }
                        if let Err(err) = self.outbox.ack(e.seq) {
                            tracing::error!(error = %err, "outbox ack failed");
                            break;
                        }
                        sent += 1;
                    }
                    // A final refusal would come back the same on a resend;
                    // set it aside so the records behind it are not stuck.
                    Answer::Refused => {
                        tracing::error!(id = %e.id, route = %e.route, code = r.code, message = %r.message, "upload refused for good; moved to the dead letters");
                        if let Err(err) = self.outbox.dead_letter(e.seq, r.code, &r.message) {
                            tracing::error!(error = %err, "cannot move the refused record aside; retrying later");
                            break;
                        }
                        sent += 1;
                    }
                },
                Err(err) => {
                    tracing::info!(error = %err, "flush paused");
                    break;
                }
            }
        }
        sent
    }

    /// `record` for the door decisions (`doors_offline`).
    pub(crate) fn record_upload(&self, route: &str, data: Value) -> bool {
        self.record(route, data)
    }

    /// Queues an upload durably (fsync'd when this returns true).
    fn record(&self, route: &str, data: Value) -> bool {
        let essential = ESSENTIAL.contains(&route);
        let device = data.get("deviceID").and_then(Value::as_str).unwrap_or_default().to_string();
        match self.outbox.push(&self.cfg.agent_id, route, data, essential) {
            Ok(_) => {
                self.flush.notify_one();
                true
            }
            Err(OutboxError::Full { .. }) if !essential => {
                tracing::warn!(route, "outbox full: notice refused");
                false
            }
            Err(e) => {
                tracing::error!(route, error = %e, "upload NOT recorded");
                if e.is_disk_full() {
                    self.report_disk_full(&device, &e);
                }
                false
            }
        }
    }

    /// A full disk cannot be reported through the outbox it filled: 9.21 goes
    /// straight over the link (once a minute), and waits for the link if it
    /// is down.
    fn report_disk_full(&self, device: &str, err: &OutboxError) {
        {
            let mut last = self.disk_full_reported.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| t.elapsed() < FAULT_REPORT_GAP) {
                return;
            }
            *last = Some(Instant::now());
        }
        let lane = self.lane_info(device);
        let data = json!({
            "deviceID": lane.as_ref().map(|l| l.device_id.clone()).unwrap_or_else(|| self.cfg.agent_id.clone()),
            "controllerNo": lane.as_ref().map(|l| l.controller_no.clone()).unwrap_or_else(|| self.cfg.agent_id.clone()),
            "fullName": lane.as_ref().map(|l| l.name.clone()).filter(|n| !n.is_empty()).unwrap_or_else(|| format!("agent {}", self.cfg.agent_id)),
            "ioFlag": lane.as_ref().map(|l| l.lane.flag()).unwrap_or("0"),
            // 9.21 has no "disk" type; the lane's recording is what is offline.
            "gateFault": 4,
            "code": DISK_FULL_CODE,
            "message": format!("agent disk full: entry/exit records cannot be stored ({err}); the lane keeps deciding"),
            "time": crate::now_text(),
        });
        let link = self.link.clone();
        tokio::spawn(async move {
            let mut up = link.watch_up();
            let deadline = tokio::time::Instant::now() + FAULT_REPORT_GAP;
            loop {
                if link.is_up() {
                    match link.uplink(route::GATE_FAULT, data.clone(), FLUSH_REPLY_TIMEOUT).await {
                        Ok(_) => return,
                        Err(e) => tracing::warn!(error = %e, "disk-full notice not delivered; retrying"),
                    }
                }
                if tokio::time::timeout_at(deadline, up.changed()).await.is_err() {
                    tracing::error!("disk-full notice could not reach the cloud");
                    return;
                }
            }
        });
    }

    fn report_fault(&self, spec: &DeviceSpec, err: &DeviceError) {
        {
            let mut f = self.faults.lock().unwrap_or_else(|p| p.into_inner());
            if f.get(&spec.id).is_some_and(|t| t.elapsed() < FAULT_REPORT_GAP) {
                return;
            }
            f.insert(spec.id.clone(), Instant::now());
        }
        tracing::error!(device = %spec.id, error = %err, "device fault");
        let lane = self.lane_info(&spec.id);
        let name = if spec.name.is_empty() { spec.id.clone() } else { spec.name.clone() };
        self.record(
            route::GATE_FAULT,
            json!({
                "deviceID": spec.id,
                "controllerNo": lane.as_ref().map(|l| l.controller_no.clone()).unwrap_or_else(|| spec.id.clone()),
                "fullName": lane.as_ref().map(|l| l.name.clone()).filter(|n| !n.is_empty()).unwrap_or(name),
                // Doors have no lane; 0 keeps the record valid.
                "ioFlag": lane.as_ref().map(|l| l.lane.flag()).unwrap_or("0"),
                // 9.21's "gate offline".
                "gateFault": 4,
                "code": err.ack_code(),
                "message": err.to_string(),
                "time": crate::now_text(),
            }),
        );
    }

    fn gate_state_notice(&self, device: &str, act: &str, params: &Value) {
        let state = match act {
            action::GATE_OPEN => "open",
            action::GATE_CLOSE => "closed",
            action::GATE_PEAKMODE => {
                if params.get("on").and_then(Value::as_bool).unwrap_or(false) {
                    "peak"
                } else {
                    "closed"
                }
            }
            _ => return,
        };
        let Some(lane) = self.lane_info(device) else { return };
        self.record(
            route::GATE_STATE_NOTICE,
            json!({
                "deviceID": lane.device_id,
                "controllerNo": lane.controller_no,
                "fullName": lane.name,
                "inOrOut": lane.lane.flag(),
                "state": state,
                "time": crate::now_text(),
            }),
        );
    }

    fn lane_info(&self, device_id: &str) -> Option<LaneInfo> {
        if let Some(d) = self.devices.find(device_id) {
            if let Some(lane) = d.spec.lane() {
                let controller_no = if d.spec.controller_no.is_empty() { d.spec.id.clone() } else { d.spec.controller_no };
                return Some(LaneInfo { device_id: d.spec.id, controller_no, name: d.spec.name, lane, area: d.spec.area });
            }
        }
        let site = self.read_site();
        site.cfg.controllers.iter().find(|c| c.device_id == device_id || c.controller_no == device_id).map(|c| LaneInfo {
            device_id: c.device_id.clone(),
            controller_no: c.controller_no.clone(),
            name: c.name.clone(),
            lane: c.lane,
            area: c.area.clone(),
        })
    }

    /// A plate at a lane: ask the cloud (2 s), else decide locally; then drive
    /// the gate, LED and voice and record what happened.
    pub async fn on_plate(&self, ev: PlateEvent) -> PlateAnswer {
        let plate = normalize_plate(&ev.plate_no);
        let Some(lane) = self.lane_info(&ev.device_id) else {
            return PlateAnswer { ok: false, open: false, text: format!("unknown device '{}'", ev.device_id), reason: String::new() };
        };
        if plate.is_empty() {
            return PlateAnswer { ok: false, open: false, text: "plateNo is required".into(), reason: String::new() };
        }
        let time = crate::camera::trusted_time(&ev.time, crate::now_local());
        let time_text = onecard_core::time::format(time);
        // The picture goes its own way (decision 16); records name it by key.
        let picture = ev.image.as_ref().and_then(|img| {
            if img.0.len() > crate::pictures::MAX_PICTURE {
                tracing::warn!(bytes = img.0.len(), plate, "picture over 2 MiB is not sent; the record still goes");
                return None;
            }
            Some(crate::pictures::sha_hex(&img.0))
        });
        let image_key = picture.as_ref().map(|sha| crate::pictures::key(&self.cfg.branch, sha));
        let in_or_out = lane.lane.flag();

        // 9.18's own names (carNo, passTime, inOutFlag 1 entry / 2 exit) plus
        // the names the other site routes use.
        let mut ask = json!({
            "deviceID": lane.device_id,
            "controllerNo": lane.controller_no,
            "carNo": plate,
            "passTime": time_text,
            "inOutFlag": if lane.lane == Lane::In { "1" } else { "2" },
            "plateNo": plate,
            "licensePlate": plate,
            "plateColor": ev.plate_color,
            "time": time_text,
            "inOrOut": in_or_out,
            "areaId": lane.area,
        });
        if let Some(k) = &image_key {
            ask["imageKey"] = json!(k);
        }

        let online = if self.link.is_up() {
            match self.link.uplink(route::PASS_VALIDATE, ask, self.cfg.decision_timeout).await {
                // Only a refusal inside a good envelope shuts the gate; an error
                // envelope means the cloud could not decide, so the site decides.
                Ok(reply) if reply.ok() => Some(PassAnswer::from_reply(&reply)),
                Ok(reply) => {
                    tracing::warn!(code = reply.code, message = %reply.message, plate, "cloud could not decide; deciding offline");
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, plate, "pass.validate unanswered; deciding offline");
                    None
                }
            }
        } else {
            None
        };
        let offline = online.is_none();
        let (decision, cloud_card_in) = match online {
            Some(a) => {
                let text = if a.hint_text.is_empty() { default_text(&plate, lane.lane, a.open) } else { a.hint_text.clone() };
                (Decision { open: a.open, text, voice: a.hint_voice.clone(), reason: "cloud".into() }, a.card_in_id.clone().map(|c| (c, a.off_money)))
            }
            None => {
                let site = self.read_site();
                // A cloud that sends no lanes leaves nothing to refuse.
                let none = onecard_core::link::LaneRules::default();
                let rules = site.cfg.lanes.as_ref().unwrap_or(&none);
                let d = decide::offline(&site.monthly, rules, &self.policy(), &plate, lane.lane, time, &lane.area);
                (d, None)
            }
        };

        let open_flag = if decision.open { "1" } else { "0" };
        // 9.19 requires both; a camera that sends neither still gets a record.
        let color = if ev.plate_color.is_empty() { "unknown".to_string() } else { ev.plate_color.clone() };
        let offline_flag = if offline { "1" } else { "0" };
        if decision.open {
            match lane.lane {
                Lane::In => {
                    let card_in_id = new_card_in_id(&self.cfg.agent_id, time);
                    self.inpark.entered(&plate, &card_in_id);
                    self.record(
                    route::UPLOAD_INDATA,
                    with_key(&image_key, json!({
                        "areaId": lane.area,
                        "cardInId": card_in_id,
                        "licensePlate": plate,
                        "plateColor": color,
                        "inDate": time_text,
                        "gateno": lane.controller_no,
                        "gatename": lane.name,
                        "controllerNo": lane.controller_no,
                        "deviceID": lane.device_id,
                        "offline": offline_flag,
                        "decision": decision.reason,
                    })),
                    );
                }
                Lane::Out => {
                    let (cloud_id, money) = cloud_card_in.unwrap_or_default();
                    let local_id = self.inpark.left(&plate).unwrap_or_default();
                    let card_in = if cloud_id.is_empty() { local_id } else { cloud_id };
                    self.record(
                        route::UPLOAD_OUTDATA,
                        with_key(&image_key, json!({
                            "cardInId": card_in,
                            "areaId": lane.area,
                            "licensePlate": plate,
                            "plateColor": color,
                            "outDate": time_text,
                            "gateno": lane.controller_no,
                            "gatename": lane.name,
                            "controllerNo": lane.controller_no,
                            "deviceID": lane.device_id,
                            "offMoney": money,
                            "offline": offline_flag,
                            "decision": decision.reason,
                        })),
                    );
                }
            }
        }
        self.record(
            route::CAR_INOUT_NOTICE,
            with_key(&image_key, json!({
                "deviceID": lane.device_id,
                "controllerNo": lane.controller_no,
                "fullName": lane.name,
                "plateNo": plate,
                "licensePlate": plate,
                "plateColor": color,
                // 9.19 requires `image` (a path in the seed). The picture is
                // named by `imageKey`; "none" keeps the field present and is
                // never mistaken for base64 data.
                "image": "none",
                "inOrOut": in_or_out,
                "time": time_text,
                "open": open_flag,
                "text": decision.text,
            })),
        );
        if offline {
            self.record(
                route::OFFLINE_DECISION,
                json!({
                    "deviceID": lane.device_id,
                    "controllerNo": lane.controller_no,
                    "licensePlate": plate,
                    "inOrOut": in_or_out,
                    "time": time_text,
                    "open": open_flag,
                    "reason": decision.reason,
                }),
            );
        }
        // Only now the gate: every record above is on disk (fsync'd), so a
        // car that passes is never a car the agent forgot.
        self.drive_lane(&lane, &decision).await;
        if let (Some(sha), Some(img)) = (picture, ev.image) {
            self.pictures.submit(sha, img.0);
        }
        PlateAnswer { ok: true, open: decision.open, text: decision.text, reason: decision.reason }
    }

    /// Best effort: a silent board is reported as a fault by the device layer,
    /// and the decision still stands (staff can open by hand).
    async fn drive_lane(&self, lane: &LaneInfo, d: &Decision) {
        let Some(dev) = self.devices.find(&lane.device_id) else { return };
        let mut frames = Vec::with_capacity(3);
        let held_open = self.peak.lock().unwrap_or_else(|p| p.into_inner()).contains(&dev.spec.id);
        if d.open && !held_open {
            frames.push(Payload::Relay { channel: crate::frame::relay::OPEN, seconds: 0 });
        }
        if !d.text.is_empty() {
            let color = if d.open { 2 } else { 1 };
            frames.push(Payload::TempText { line: 1, color, seconds: 5, text: d.text.clone() });
        }
        if !d.voice.is_empty() {
            frames.push(Payload::Voice { opt: 2, text: d.voice.clone() });
        }
        for p in frames {
            // A board that missed one frame will miss the next too; stop rather
            // than keep the driver (and the camera's answer) waiting.
            if let Err(DeviceError::Silent(_) | DeviceError::Io(_)) = self.devices.send(&dev, &p).await {
                break;
            }
        }
    }
}

/// Adds `imageKey` when the event had a picture.
fn with_key(key: &Option<String>, mut v: Value) -> Value {
    if let Some(k) = key {
        v["imageKey"] = json!(k);
    }
    v
}

/// The 9.21 `code` of a full-disk notice (HTTP's "insufficient storage").
const DISK_FULL_CODE: i64 = 507;

/// How the flush treats the cloud's answer to an outbox record.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    Done,
    /// Transient on the cloud's side (100002, 5xx): keep it, retry later.
    Retry,
    /// Final refusal: move to the dead letters.
    Refused,
    /// A notice route this cloud does not have: drop it quietly.
    Unsupported,
}

pub fn answer_kind(route: &str, r: &onecard_core::link::Reply) -> Answer {
    if r.ok() {
        Answer::Done
    } else if r.code == onecard_core::Code::SYSTEM.0 || (500..600).contains(&r.code) {
        Answer::Retry
    } else if r.code == 404 && route == route::OFFLINE_DECISION {
        Answer::Unsupported
    } else {
        Answer::Refused
    }
}

fn default_text(plate: &str, lane: Lane, open: bool) -> String {
    match (lane, open) {
        (Lane::In, true) => format!("{plate} 欢迎光临"),
        (Lane::Out, true) => format!("{plate} 一路顺风"),
        (_, false) => format!("{plate} 禁止通行"),
    }
}

/// Unique without the cloud: agent, time of entry and a random tail.
pub fn new_card_in_id(agent: &str, t: chrono::NaiveDateTime) -> String {
    use rand::Rng;
    format!("{agent}-{}-{:06}", t.format("%Y%m%d%H%M%S"), rand::thread_rng().gen_range(0..1_000_000))
}

/// Reads a camera's JSON leniently (numbers or strings, two plate spellings).
/// Used by tests: lane of a device spec string.
pub fn lane_of(s: &str) -> Option<Lane> {
    parse_lane(s)
}

impl PlateSink for Agent {
    fn plate(&self, ev: PlateEvent) -> futures::future::BoxFuture<'_, PlateAnswer> {
        Box::pin(self.on_plate(ev))
    }
    fn door(&self, read: crate::doors_offline::DoorRead) -> futures::future::BoxFuture<'_, crate::doors_offline::DoorAnswer> {
        Box::pin(crate::doors_offline::on_read(self, read))
    }
    fn face(&self, record: Value) -> futures::future::BoxFuture<'_, crate::doors_offline::DoorAnswer> {
        Box::pin(crate::faces::on_recognition(self, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;


    fn reply(code: i64) -> onecard_core::link::Reply {
        onecard_core::link::Reply { id: "x".into(), status: code == 200, code, message: String::new(), time: String::new(), data: Value::Null }
    }

    #[test]
    fn cloud_answers_are_retried_only_when_transient() {
        assert_eq!(answer_kind(route::UPLOAD_INDATA, &reply(200)), Answer::Done);
        assert_eq!(answer_kind(route::UPLOAD_INDATA, &reply(100002)), Answer::Retry);
        assert_eq!(answer_kind(route::UPLOAD_INDATA, &reply(503)), Answer::Retry);
        assert_eq!(answer_kind(route::UPLOAD_INDATA, &reply(100001)), Answer::Refused);
        assert_eq!(answer_kind(route::UPLOAD_INDATA, &reply(403)), Answer::Refused);
        assert_eq!(answer_kind(route::UPLOAD_INDATA, &reply(404)), Answer::Refused);
        assert_eq!(answer_kind(route::OFFLINE_DECISION, &reply(404)), Answer::Unsupported);
    }

    #[test]
    fn card_in_ids_differ() {
        let t = onecard_core::time::parse("2026-01-01 08:00:00").unwrap();
        let a = new_card_in_id("A1", t);
        assert!(a.starts_with("A1-20260101080000-"));
        assert_ne!(a, new_card_in_id("A1", t));
    }
}

