//! `pvectl::api` used as a library on its own, without the command line: find a guest, start it,
//! wait for its task and read its state, against fakepve.

mod common;

use std::time::Duration;

use common::helpers::{status_of, writes};
use common::{Fake, TOKEN_ID, TOKEN_SECRET};
use pvectl::api::guest::power::{self, PowerAction};
use pvectl::api::tls::parse_fingerprint;
use pvectl::api::{cluster, tasks, Auth, Client, ClientOptions, Params, Secret, TlsMode};

fn client(fake: &Fake) -> Client {
    let auth = Auth::Token {
        id: TOKEN_ID.into(),
        secret: Secret::new(TOKEN_SECRET),
    };
    let mut opts = ClientOptions::new(format!("https://{}", fake.addr()), auth);
    opts.tls = TlsMode::Pinned(parse_fingerprint(&fake.fingerprint).expect("the fake's pin"));
    Client::new(opts).expect("a client")
}

#[tokio::test(flavor = "current_thread")]
async fn the_api_module_finds_starts_and_waits_for_a_guest_on_its_own() {
    let fake = Fake::with("pve.add_node('pve2')\npve.add_vm(100, 'web1', node='pve2')");
    let client = client(&fake);

    let guests = cluster::guests(&client)
        .await
        .expect("the cluster's guests");
    let web1 = guests
        .iter()
        .find(|g| g.name.as_deref() == Some("web1"))
        .expect("web1 is listed");
    assert_eq!(web1.node.as_deref(), Some("pve2"));
    let at = pvectl::api::GuestRef {
        kind: web1.guest_kind().expect("a guest"),
        node: web1.node.clone().unwrap_or_default(),
        vmid: web1.vmid.unwrap_or_default(),
    };

    let upid = power::action(&client, &at, PowerAction::Start, &Params::new())
        .await
        .expect("a UPID");
    assert_eq!((upid.node(), upid.task_type.as_str()), ("pve2", "qmstart"));
    let mut status = tasks::status(&client, &upid)
        .await
        .expect("the task's status");
    while status.running() {
        tokio::time::sleep(Duration::from_millis(50)).await;
        status = tasks::status(&client, &upid)
            .await
            .expect("the task's status");
    }
    assert!(tasks::exitstatus_ok(
        status.exitstatus.as_deref().unwrap_or("")
    ));

    let now = power::current(&client, &at).await.expect("the VM's state");
    assert_eq!(now.status.as_deref(), Some("running"));
    assert_eq!(status_of(&fake, 100), "running");
    assert_eq!(
        writes(&fake).iter().map(|w| w.line()).collect::<Vec<_>>(),
        vec!["POST /nodes/pve2/qemu/100/status/start".to_string()]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn an_unknown_task_is_a_typed_error() {
    let fake = Fake::new();
    let client = client(&fake);
    let upid = "UPID:pve1:00000001:00000002:66F1A2B3:qmstart:100:root@pam:"
        .parse()
        .expect("a UPID");
    let err = tasks::status(&client, &upid).await.unwrap_err();
    assert!(
        matches!(err, pvectl::api::ApiError::NoSuchTask { ref node, .. } if node == "pve1"),
        "{err:?}"
    );
}
