//! One agent's WebSocket, from `hello` to close.

use super::{config_push::ConfigPush, send, Conn, Hub};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};
use onecard_core::config::Branch;
use onecard_core::link::{self, Beat, Bye, Hello, Msg, Refused};
use onecard_core::time;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Refusals go straight to the sink, before the writer exists.
fn text(m: &Msg) -> Message {
    Message::Text(link::encode_frame(m).unwrap_or_else(|e| {
        tracing::error!(error = %e, "refusal too large; sent without its message");
        link::encode(&Msg::Refused(Refused { code: 100001, message: String::new() }))
    }).into())
}

pub(super) async fn run(hub: Arc<Hub>, socket: WebSocket) {
    let Some((ctx, reg)) = hub.app().cloned() else {
        tracing::error!("site link used before the hub was attached to the application");
        return;
    };
    let (mut sink, mut stream) = socket.split();

    let hello = match wait_hello(&hub, &mut stream).await {
        Ok(h) => h,
        Err(refused) => {
            let _ = sink.send(text(&Msg::Refused(refused))).await;
            let _ = sink.close().await;
            return;
        }
    };
    let branch: Branch = match onecard_app::sitelink::authenticate(&ctx, &hello, hub.cfg.hello_skew_secs).await {
        Ok(b) => b,
        Err(refused) => {
            tracing::warn!(branch = %hello.branch, agent = %hello.agent_id, code = refused.code, message = %refused.message, "agent refused");
            let _ = sink.send(text(&Msg::Refused(refused))).await;
            let _ = sink.close().await;
            return;
        }
    };
    let agent = hello.agent_id.clone();
    let session = hub.next_session();

    // One writer owns the sink, so commands, replies and pongs from many tasks
    // never interleave inside a frame.
    let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            let closing = matches!(m, Message::Close(_));
            if sink.send(m).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });

    send(&out, &Msg::Welcome(onecard_app::sitelink::welcome(&ctx, &branch, &agent, &session)));
    let mut config = ConfigPush::new(&hello.config_version);
    let changed = Arc::new(tokio::sync::Notify::new());
    // Registered before the first sync, so a card changed meanwhile still
    // wakes this session.
    let conn = Conn { session: session.clone(), out: out.clone(), config: changed.clone() };
    let replaced = hub.register(&branch.branchno, &agent, conn);
    config.refresh(&ctx, &branch.branchno, &out).await;

    if let Some(old) = replaced {
        tracing::info!(branch = %branch.branchno, agent, old = %old.session, new = %session, "agent reconnected; closing its older connection");
        send(&old.out, &Msg::Bye(Bye { reason: "replaced by a newer connection".into() }));
        let _ = old.out.send(Message::Close(Some(CloseFrame { code: 4000, reason: "replaced".into() })));
    }
    tracing::info!(branch = %branch.branchno, agent, session, software = %hello.software, "agent connected");

    let mut last_heard = Instant::now();
    let mut refresh = tokio::time::interval(hub.cfg.config_refresh);
    refresh.reset();
    let mut check = tokio::time::interval(hub.cfg.silence_limit / 3);
    check.reset();
    let why = loop {
        tokio::select! {
            frame = stream.next() => {
                last_heard = Instant::now();
                let t = match frame {
                    None => break "closed by the agent".to_string(),
                    Some(Err(e)) => break format!("socket error: {e}"),
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) => break "close frame".to_string(),
                    // Binary frames are not part of the protocol; WebSocket pings
                    // are answered by the library.
                    Some(Ok(_)) => continue,
                };
                match link::decode(t.as_str()) {
                    Ok(Msg::Ping(b)) => {
                        send(&out, &Msg::Pong(Beat { seq: b.seq, time: time::format(time::to_local(ctx.clock.now(), &branch.tz)) }));
                    }
                    Ok(Msg::Pong(_)) => {}
                    Ok(Msg::Ack(a)) => hub.deliver_ack(&session, a),
                    Ok(Msg::Resync(r)) => {
                        tracing::warn!(agent, held = %r.version, "agent asked for a full site configuration");
                        config.resync();
                        config.refresh(&ctx, &branch.branchno, &out).await;
                    }
                    Ok(Msg::Uplink(up)) => {
                        // Each uplink runs on its own task: a slow handler must not hold
                        // up acks for commands that other requests are waiting on.
                        let (ctx, reg, out, b, a) = (ctx.clone(), reg.clone(), out.clone(), branch.branchno.clone(), agent.clone());
                        tokio::spawn(async move {
                            let route = up.route.clone();
                            let reply = onecard_app::sitelink::serve_uplink(&ctx, &reg, &b, &a, up).await;
                            tracing::debug!(branch = %b, agent = %a, route, id = %reply.id, code = reply.code, "uplink served");
                            if !send(&out, &Msg::Reply(reply.clone())) {
                                // Too big for a frame: the agent must not wait for
                                // a reply that never comes, nor take it as success.
                                let fail = link::Reply { status: false, code: onecard_core::Code::SYSTEM.0, message: "reply too large for the site link".into(), data: serde_json::Value::Null, ..reply };
                                send(&out, &Msg::Reply(fail));
                            }
                        });
                    }
                    Ok(Msg::Bye(b)) => break format!("agent said bye: {}", b.reason),
                    Ok(Msg::Hello(_)) => tracing::debug!(agent, "second hello on an open session ignored"),
                    Ok(other) => tracing::debug!(agent, ?other, "frame not meant for the cloud ignored"),
                    Err(e) => tracing::warn!(agent, error = %e, "undecodable frame ignored"),
                }
            }
            _ = refresh.tick() => config.refresh(&ctx, &branch.branchno, &out).await,
            _ = changed.notified() => config.refresh(&ctx, &branch.branchno, &out).await,
            _ = check.tick() => {
                if last_heard.elapsed() > hub.cfg.silence_limit {
                    break format!("silent for {} s", last_heard.elapsed().as_secs());
                }
                if out.is_closed() {
                    break "connection replaced".to_string();
                }
            }
        }
    };
    hub.unregister(&branch.branchno, &agent, &session);
    tracing::info!(branch = %branch.branchno, agent, session, why, "agent disconnected");
    drop(out);
    let _ = writer.await;
}

/// Reads frames until a hello; anything else first is ignored (protocol).
async fn wait_hello(hub: &Hub, stream: &mut futures::stream::SplitStream<WebSocket>) -> Result<Hello, Refused> {
    let deadline = Instant::now() + hub.cfg.hello_deadline;
    loop {
        let frame = tokio::time::timeout_at(deadline, stream.next())
            .await
            .map_err(|_| Refused { code: 100001, message: "no hello in time".into() })?;
        let t = match frame {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                return Err(Refused { code: 100001, message: "closed before hello".into() })
            }
            Some(Ok(_)) => continue,
        };
        match link::decode(t.as_str()) {
            Ok(Msg::Hello(h)) => return Ok(h),
            Err(link::DecodeError::Bad { kind, reason }) if kind == "hello" => {
                return Err(Refused { code: 100001, message: format!("malformed hello: {reason}") })
            }
            _ => continue,
        }
    }
}
