//! PVE's property strings: `local-lvm:vm-101-disk-1,mp=/srv,backup=1`, `virtio=AA:BB:…,bridge=vmbr0`.
//!
//! Items are separated by `,` (values cannot contain commas); an item without `=` is the value of
//! the format's default key (`volume` for mount points, `file` for disks). The order of the items is
//! kept, so an unchanged string formats back to itself.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropString {
    /// (key, value) in the order given; the default key's item is stored under that key.
    items: Vec<(String, String)>,
    /// The key whose value may appear bare, and whether it did.
    default_key: Option<(String, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropError {
    #[error("empty item in '{0}'")]
    EmptyItem(String),
    #[error("'{item}' has no key (only the first bare item is the {default})")]
    SecondBare { item: String, default: String },
    #[error("'{0}' has a value without a key")]
    NoDefault(String),
    #[error("key '{key}' given twice in '{text}'")]
    Duplicate { key: String, text: String },
}

impl PropString {
    /// Parse `text`; a bare item is the value of `default_key`.
    pub fn parse(text: &str, default_key: Option<&str>) -> Result<Self, PropError> {
        let mut ps = PropString {
            items: vec![],
            default_key: default_key.map(|k| (k.to_string(), false)),
        };
        if text.trim().is_empty() {
            return Ok(ps);
        }
        for item in text.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(PropError::EmptyItem(text.to_string()));
            }
            let (key, value) = match item.split_once('=') {
                Some((k, v)) if !k.is_empty() && !k.contains(':') && !k.contains('/') => {
                    (k.to_string(), v.to_string())
                }
                _ => match &mut ps.default_key {
                    Some((k, bare)) if !*bare && ps.items.iter().all(|(key, _)| key != k) => {
                        *bare = true;
                        (k.clone(), item.to_string())
                    }
                    Some((k, _)) => {
                        return Err(PropError::SecondBare {
                            item: item.to_string(),
                            default: k.clone(),
                        })
                    }
                    None => return Err(PropError::NoDefault(item.to_string())),
                },
            };
            if ps.get(&key).is_some() {
                return Err(PropError::Duplicate {
                    key,
                    text: text.to_string(),
                });
            }
            ps.items.push((key, value));
        }
        Ok(ps)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Set a key, keeping its place if present; a new default key goes first, bare.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        if let Some(item) = self.items.iter_mut().find(|(k, _)| k == key) {
            item.1 = value;
            return;
        }
        match &mut self.default_key {
            Some((k, bare)) if k == key => {
                *bare = true;
                self.items.insert(0, (key.to_string(), value));
            }
            _ => self.items.push((key.to_string(), value)),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.items.iter().position(|(k, _)| k == key)?;
        Some(self.items.remove(i).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.items.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A boolean as PVE reads it: `1/on/yes/true` and `0/off/no/false`.
    pub fn flag(&self, key: &str) -> Option<bool> {
        match self.get(key)?.to_ascii_lowercase().as_str() {
            "1" | "on" | "yes" | "true" => Some(true),
            "0" | "off" | "no" | "false" => Some(false),
            _ => None,
        }
    }
}

impl fmt::Display for PropString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match &self.default_key {
                Some((dk, true)) if dk == k => f.write_str(v)?,
                _ => write!(f, "{k}={v}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_point_round_trip() {
        let text = "local-lvm:vm-101-disk-1,mp=/srv/data,backup=1,size=8G";
        let ps = PropString::parse(text, Some("volume")).unwrap();
        assert_eq!(ps.get("volume"), Some("local-lvm:vm-101-disk-1"));
        assert_eq!(ps.get("mp"), Some("/srv/data"));
        assert_eq!(ps.flag("backup"), Some(true));
        assert_eq!(ps.to_string(), text);
        // The default key may also be spelled out.
        let ps = PropString::parse("volume=/mnt/host,mp=/data,ro=1", Some("volume")).unwrap();
        assert_eq!(ps.get("volume"), Some("/mnt/host"));
        assert_eq!(ps.to_string(), "volume=/mnt/host,mp=/data,ro=1");
    }

    #[test]
    fn disks_nics_and_rootfs() {
        let disk = "local-lvm:vm-100-disk-0,cache=writeback,discard=on,size=32G";
        let ps = PropString::parse(disk, Some("file")).unwrap();
        assert_eq!(ps.get("file"), Some("local-lvm:vm-100-disk-0"));
        assert_eq!(ps.flag("discard"), Some(true));
        assert_eq!(ps.to_string(), disk);
        // A NIC: model=MAC is a key with a value; there is no bare item.
        let nic = "virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1,tag=20";
        let ps = PropString::parse(nic, None).unwrap();
        assert_eq!(ps.get("virtio"), Some("BC:24:11:2A:3B:4C"));
        assert_eq!(ps.to_string(), nic);
        let ct_nic = "name=eth0,bridge=vmbr0,ip=dhcp,type=veth";
        assert_eq!(PropString::parse(ct_nic, None).unwrap().to_string(), ct_nic);
        let rootfs = "local-lvm:subvol-101-disk-0,size=8G";
        assert_eq!(
            PropString::parse(rootfs, Some("volume"))
                .unwrap()
                .to_string(),
            rootfs
        );
    }

    #[test]
    fn editing_keeps_order() {
        let mut ps = PropString::parse("mp=/srv", Some("volume")).unwrap();
        ps.set("volume", "local-lvm:8");
        ps.set("backup", "1");
        ps.set("mp", "/srv/data");
        assert_eq!(ps.to_string(), "local-lvm:8,mp=/srv/data,backup=1");
        assert_eq!(ps.remove("backup").as_deref(), Some("1"));
        assert_eq!(ps.to_string(), "local-lvm:8,mp=/srv/data");
    }

    #[test]
    fn malformed() {
        assert!(matches!(
            PropString::parse("a,,b", Some("volume")),
            Err(PropError::EmptyItem(_))
        ));
        assert!(matches!(
            PropString::parse("vol1,vol2", Some("volume")),
            Err(PropError::SecondBare { .. })
        ));
        assert!(matches!(
            PropString::parse("bare", None),
            Err(PropError::NoDefault(_))
        ));
        assert!(matches!(
            PropString::parse("mp=/a,mp=/b", Some("volume")),
            Err(PropError::Duplicate { .. })
        ));
        assert_eq!(PropString::parse("", None).unwrap().to_string(), "");
    }
}
