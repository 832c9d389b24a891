//! `vm|ct disk list`: every disk of a guest with its bus, volume, size, storage, format, cache and
//! backup flag, unused volumes included; a container's mount points with their path.

use serde_json::{json, Value};

use super::load;
use crate::api::guest::disk::{bus_of, drives, Drive};
use crate::api::GuestKind;
use crate::cli::GuestTarget;
use crate::commands::Ctx;
use crate::output::{col, Column, Kind};

pub async fn run(ctx: &Ctx, kind: GuestKind, t: &GuestTarget) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let (_, cfg) = load(&client, kind, &t.guest, t.node.as_deref()).await?;
    let rows: Vec<Value> = drives(kind, &cfg).iter().map(|d| row(kind, d)).collect();
    match kind {
        GuestKind::Qemu => ctx.out.list(&VM_COLUMNS, &rows),
        GuestKind::Lxc => ctx.out.list(&CT_COLUMNS, &rows),
    }
}

/// Whether the disk goes into backups: QEMU disks unless `backup=0`; a container's rootfs
/// always, its mount points only with `backup=1`; unused volumes and CD-ROMs never.
fn backed_up(kind: GuestKind, d: &Drive) -> Option<bool> {
    let bus = bus_of(kind, &d.key)?;
    if bus == "unused" || d.is_cdrom() {
        return None;
    }
    Some(match (kind, bus) {
        (GuestKind::Lxc, "rootfs") => true,
        (GuestKind::Lxc, _) => d.props.flag("backup").unwrap_or(false),
        (GuestKind::Qemu, _) => d.props.flag("backup").unwrap_or(true),
    })
}

fn row(kind: GuestKind, d: &Drive) -> Value {
    let media = if d.is_cloudinit() {
        Some("cloudinit")
    } else if d.is_cdrom() {
        Some("cdrom")
    } else {
        None
    };
    let mut row = json!({
        "disk": d.key,
        "bus": bus_of(kind, &d.key),
        "volume": d.volume(),
        "size": d.size(),
        "storage": d.storage(),
        "format": if d.is_cdrom() && !d.is_cloudinit() { None } else { d.format() },
        "media": media,
        "cache": d.props.get("cache"),
        "backup": backed_up(kind, d).map(u8::from),
        "value": d.props.to_string(),
    });
    if kind == GuestKind::Lxc {
        row["mp"] = json!(d.props.get("mp"));
    }
    // What a disk does not have is left out, not null.
    if let Some(fields) = row.as_object_mut() {
        fields.retain(|_, v| !v.is_null());
    }
    row
}

const VM_COLUMNS: [Column; 9] = [
    col("disk", "DISK", Kind::Text),
    col("bus", "BUS", Kind::Text),
    col("volume", "VOLUME", Kind::Text),
    col("size", "SIZE", Kind::Bytes),
    col("storage", "STORAGE", Kind::Text),
    col("format", "FORMAT", Kind::Text).priority(2),
    col("media", "MEDIA", Kind::Text).priority(2),
    col("cache", "CACHE", Kind::Text).priority(3),
    col("backup", "BACKUP", Kind::Flag).priority(1),
];

const CT_COLUMNS: [Column; 7] = [
    col("disk", "DISK", Kind::Text),
    col("volume", "VOLUME", Kind::Text),
    col("mp", "PATH", Kind::Text),
    col("size", "SIZE", Kind::Bytes),
    col("storage", "STORAGE", Kind::Text),
    col("format", "FORMAT", Kind::Text),
    col("backup", "BACKUP", Kind::Flag),
];
