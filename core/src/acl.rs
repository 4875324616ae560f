//! POSIX access control lists: the format Linux passes them in
//! (`system.posix_acl_access`, `system.posix_acl_default`), their checks,
//! and how they follow the mode bits (POSIX 1003.1e draft 17, as Linux's
//! `fs/posix_acl.c` implements it).
//!
//! An ACL is kept in the inode item in the same bytes Linux passes, so a
//! `getfacl` or `ls -l` of a file whose attributes are cached costs no
//! request, and a create reads its parent's default ACL from the parent it
//! has read anyway.

use crate::caller::Caller;

/// Names of the two ACL attributes.
pub const ACCESS: &[u8] = b"system.posix_acl_access";
pub const DEFAULT: &[u8] = b"system.posix_acl_default";

const VERSION: u32 = 2;
const USER_OBJ: u16 = 0x01;
const USER: u16 = 0x02;
const GROUP_OBJ: u16 = 0x04;
const GROUP: u16 = 0x08;
const MASK: u16 = 0x10;
const OTHER: u16 = 0x20;
#[cfg(test)]
const UNDEFINED_ID: u32 = u32::MAX;
/// More entries than this do not fit the page the kernel passes an ACL in.
const MAX_ENTRIES: usize = (4096 - 4) / 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AclEntry {
    tag: u16,
    perm: u16,
    id: u32,
}

/// A valid ACL: its entries in the canonical order (owner, named users by
/// id, owning group, named groups by id, mask, other).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    entries: Vec<AclEntry>,
}

/// Why bytes are not an ACL.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid POSIX ACL: {0}")]
pub struct InvalidAcl(pub &'static str);

impl Acl {
    /// Decode and validate the xattr form. An empty value is no ACL.
    pub fn decode(b: &[u8]) -> Result<Option<Acl>, InvalidAcl> {
        if b.is_empty() {
            return Ok(None);
        }
        if b.len() < 4 || (b.len() - 4) % 8 != 0 {
            return Err(InvalidAcl("its length is not a header and whole entries"));
        }
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        if u32_at(0) != VERSION {
            return Err(InvalidAcl("unknown version (2 expected)"));
        }
        let entries: Vec<AclEntry> = (4..b.len())
            .step_by(8)
            .map(|i| AclEntry {
                tag: u16_at(i),
                perm: u16_at(i + 2),
                id: u32_at(i + 4),
            })
            .collect();
        if entries.len() > MAX_ENTRIES {
            return Err(InvalidAcl("too many entries"));
        }
        let acl = Acl { entries };
        acl.validate()?;
        Ok(Some(acl))
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(4 + 8 * self.entries.len());
        b.extend_from_slice(&VERSION.to_le_bytes());
        for e in &self.entries {
            b.extend_from_slice(&e.tag.to_le_bytes());
            b.extend_from_slice(&e.perm.to_le_bytes());
            b.extend_from_slice(&e.id.to_le_bytes());
        }
        b
    }

    /// The order and completeness rules of `posix_acl_valid`.
    fn validate(&self) -> Result<(), InvalidAcl> {
        // 0: expect the owner; 1: named users; 2: named groups; 3: other
        // next; 4: done.
        let mut state = 0;
        let mut needs_mask = false;
        let mut last_id: Option<u32> = None;
        for e in &self.entries {
            if e.perm & !7 != 0 {
                return Err(InvalidAcl("a permission other than r, w, x"));
            }
            let named = |last: &mut Option<u32>| {
                if last.is_some_and(|l| l >= e.id) {
                    return Err(InvalidAcl("named entries out of order or repeated"));
                }
                *last = Some(e.id);
                Ok(())
            };
            state = match (e.tag, state) {
                (USER_OBJ, 0) => 1,
                (USER, 1) => {
                    named(&mut last_id)?;
                    needs_mask = true;
                    1
                }
                (GROUP_OBJ, 1) => {
                    last_id = None;
                    2
                }
                (GROUP, 2) => {
                    named(&mut last_id)?;
                    needs_mask = true;
                    2
                }
                (MASK, 2) => 3,
                (OTHER, 3) => 4,
                (OTHER, 2) if !needs_mask => 4,
                (OTHER, 2) => return Err(InvalidAcl("named entries need a mask entry")),
                _ => return Err(InvalidAcl("entries missing, repeated or out of order")),
            };
        }
        if state == 4 {
            Ok(())
        } else {
            Err(InvalidAcl("the owner, group or other entry is missing"))
        }
    }

    fn find(&self, tag: u16) -> Option<usize> {
        self.entries.iter().position(|e| e.tag == tag)
    }

    /// The entry the group bits of the mode stand for: the mask if there
    /// is one, else the owning group.
    fn group_class(&self) -> Option<usize> {
        self.find(MASK).or_else(|| self.find(GROUP_OBJ))
    }

    /// The permission bits this ACL gives the mode (`posix_acl_equiv_mode`),
    /// and whether the mode says all of it (no named entry, no mask): then
    /// nothing needs to be stored.
    pub fn mode_bits(&self) -> (u32, bool) {
        let perm = |tag| {
            self.find(tag)
                .map_or(0, |i| u32::from(self.entries[i].perm))
        };
        let group = self
            .group_class()
            .map_or(0, |i| u32::from(self.entries[i].perm));
        let bits = perm(USER_OBJ) << 6 | group << 3 | perm(OTHER);
        (bits, self.entries.len() == 3)
    }

    /// After a chmod: owner, group class and other take the new bits
    /// (`posix_acl_chmod`); named entries keep theirs, limited by the mask.
    pub fn chmod(&mut self, mode: u32) {
        let classes = [
            (self.find(USER_OBJ), mode >> 6),
            (self.group_class(), mode >> 3),
            (self.find(OTHER), mode),
        ];
        for (i, bits) in classes {
            if let Some(i) = i {
                self.entries[i].perm = (bits & 7) as u16;
            }
        }
    }

    /// A new file's access ACL from its directory's default ACL and the
    /// mode it was created with (`posix_acl_create_masq`): each class gets
    /// no more than the mode asks for, and the mode no more than the ACL
    /// gives. `None` when the result says nothing the mode does not.
    pub fn inherit(&self, mode: &mut u32) -> Option<Acl> {
        let mut acl = self.clone();
        let mut m = *mode & 0o777;
        let mut limit = |i: Option<usize>, shift: u32, m: &mut u32| {
            if let Some(i) = i {
                let e = &mut acl.entries[i];
                e.perm &= ((*m >> shift) & 7) as u16;
                *m &= !(7 << shift) | (u32::from(e.perm) << shift);
            }
        };
        limit(self.find(USER_OBJ), 6, &mut m);
        limit(self.find(OTHER), 0, &mut m);
        limit(self.group_class(), 3, &mut m);
        *mode = (*mode & !0o777) | m;
        (acl.entries.len() > 3).then_some(acl)
    }

    /// Whether `caller` (not root: the caller checks that first) may
    /// access a file owned by `uid`:`gid` for every bit of `mask`
    /// (`posix_acl_permission`).
    pub fn allows(&self, caller: &Caller, uid: u32, gid: u32, mask: u32) -> bool {
        let want = mask as u16;
        let masked = |perm: u16| {
            self.find(MASK)
                .map_or(perm, |i| perm & self.entries[i].perm)
        };
        let mut group_matched = false;
        for e in &self.entries {
            match e.tag {
                USER_OBJ if caller.uid == uid => return e.perm & want == want,
                USER if caller.uid == e.id => return masked(e.perm) & want == want,
                GROUP_OBJ | GROUP => {
                    let g = if e.tag == GROUP_OBJ { gid } else { e.id };
                    if caller.in_group(g) {
                        if masked(e.perm) & want == want {
                            return true;
                        }
                        group_matched = true;
                    }
                }
                OTHER if !group_matched => return e.perm & want == want,
                _ => {}
            }
        }
        false
    }

    /// An ACL of just the three base entries, as a mode says them.
    #[cfg(test)]
    fn of_mode(mode: u32) -> Acl {
        let e = |tag, shift: u32| AclEntry {
            tag,
            perm: ((mode >> shift) & 7) as u16,
            id: UNDEFINED_ID,
        };
        Acl {
            entries: vec![e(USER_OBJ, 6), e(GROUP_OBJ, 3), e(OTHER, 0)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(tag: u16, perm: u16, id: u32) -> AclEntry {
        AclEntry { tag, perm, id }
    }

    /// u::rw-, u:1000:rwx, g::r--, g:50:-w-, m::r-x, o::---
    fn sample() -> Acl {
        Acl {
            entries: vec![
                entry(USER_OBJ, 6, UNDEFINED_ID),
                entry(USER, 7, 1000),
                entry(GROUP_OBJ, 4, UNDEFINED_ID),
                entry(GROUP, 2, 50),
                entry(MASK, 5, UNDEFINED_ID),
                entry(OTHER, 0, UNDEFINED_ID),
            ],
        }
    }

    fn user(uid: u32, gid: u32, groups: &[u32]) -> Caller {
        Caller {
            uid,
            gid,
            groups: groups.to_vec(),
            pid: 1,
            umask: 0,
        }
    }

    #[test]
    fn bytes_round_trip_and_bad_ones_are_named() {
        let a = sample();
        assert_eq!(Acl::decode(&a.encode()), Ok(Some(a.clone())));
        assert_eq!(Acl::decode(b""), Ok(None));
        let mut b = a.encode();
        b[0] = 1;
        assert!(Acl::decode(&b).is_err(), "version");
        assert!(Acl::decode(&a.encode()[..11]).is_err(), "length");
        let mut no_mask = a.clone();
        no_mask.entries.remove(4);
        assert_eq!(
            Acl::decode(&no_mask.encode()),
            Err(InvalidAcl("named entries need a mask entry"))
        );
        let mut swapped = a;
        swapped.entries.swap(0, 1);
        assert!(Acl::decode(&swapped.encode()).is_err(), "order");
        assert!(Acl::decode(&Acl::of_mode(0o644).encode())
            .expect("valid")
            .is_some());
    }

    #[test]
    fn mode_follows_the_mask_and_chmod_moves_it() {
        let mut a = sample();
        assert_eq!(a.mode_bits(), (0o650, false));
        assert_eq!(Acl::of_mode(0o751).mode_bits(), (0o751, true));
        a.chmod(0o704);
        assert_eq!(a.mode_bits(), (0o704, false));
        // The named user keeps rwx, the mask now gives it nothing.
        assert_eq!(a.entries[1].perm, 7);
        assert!(!a.allows(&user(1000, 1, &[]), 0, 0, 4));
    }

    #[test]
    fn checks_take_the_first_class_that_matches() {
        let a = sample();
        // The owner: u::rw-, no mask applied.
        assert!(a.allows(&user(7, 7, &[]), 7, 100, 6));
        assert!(!a.allows(&user(7, 7, &[]), 7, 100, 1));
        // A named user, masked: rwx & r-x.
        assert!(a.allows(&user(1000, 1, &[]), 7, 100, 5));
        assert!(!a.allows(&user(1000, 1, &[]), 7, 100, 2));
        // Groups: any matching entry that grants is enough; a match that
        // does not grant denies rather than falling to other.
        assert!(a.allows(&user(9, 100, &[]), 7, 100, 4));
        assert!(!a.allows(&user(9, 50, &[]), 7, 100, 2), "masked out");
        assert!(!a.allows(&user(9, 100, &[]), 7, 100, 1));
        // Other: ---.
        assert!(!a.allows(&user(9, 9, &[]), 7, 100, 4));
    }

    #[test]
    fn a_default_acl_limits_and_is_limited_by_the_create_mode() {
        let d = sample();
        let mut mode = 0o100666;
        let acl = d.inherit(&mut mode).expect("named entries stay");
        // Owner rw- & rw-, mask r-x & rw- = r--, other --- & rw-.
        assert_eq!(mode, 0o100640);
        assert_eq!(acl.mode_bits(), (0o640, false));
        let mut mode = 0o40777;
        assert_eq!(Acl::of_mode(0o750).inherit(&mut mode), None);
        assert_eq!(mode, 0o40750);
    }
}
