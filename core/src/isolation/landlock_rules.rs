//! The sandbox's file-system rules, enforced by Landlock on the launcher's
//! last process just before it becomes the server.
//!
//! Landlock ABI 3 (Linux 6.2) is required, in full: it is the first that
//! also controls truncation, without which a server could empty any file it
//! may write to by the usual permissions, outside its folders too. What newer
//! kernels add is taken when present (device ioctls from ABI 5; from ABI 6,
//! no signals to and no abstract Unix sockets of processes outside the
//! sandbox). A kernel without ABI 3 fails the launch; it never runs with less.

use landlock::{
    path_beneath_rules, Access, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

use super::sandbox_rules::SandboxRules;

/// The oldest Landlock ABI the sandbox runs on.
pub(crate) const REQUIRED_ABI: i32 = 3;

/// The newest ABI whose rights are asked for when the kernel has them.
const WANTED: ABI = ABI::V6;

/// The Landlock ABI of the running kernel: 0 when it has none (not built
/// in, or not in the `lsm=` list), negative never.
pub(crate) fn kernel_abi() -> i32 {
    // SAFETY: landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
    // reads no memory and returns the ABI version or -1.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    i32::try_from(v).unwrap_or(0).max(0)
}

/// Restricts this process (and what it executes) to `rules`. No-new-privileges
/// must be set already.
pub(crate) fn restrict(rules: &SandboxRules) -> Result<(), String> {
    let required = ABI::V3;
    let abi = kernel_abi();
    if abi < REQUIRED_ABI {
        return Err(format!(
            "this kernel has Landlock ABI {abi}, the sandbox needs {REQUIRED_ABI}"
        ));
    }
    let read = AccessFs::from_read(WANTED);
    let all = AccessFs::from_all(WANTED);
    let status = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(required))
        .and_then(|r| {
            r.set_compatibility(CompatLevel::BestEffort)
                .handle_access(all)
        })
        .and_then(|r| r.scope(Scope::from_all(WANTED)))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(path_beneath_rules(&rules.read_only, read)))
        .and_then(|r| r.add_rules(path_beneath_rules(&rules.read_write, all)))
        .and_then(|r| r.restrict_self())
        .map_err(|e| format!("Landlock refused the rules: {e}"))?;
    match status.ruleset {
        RulesetStatus::FullyEnforced | RulesetStatus::PartiallyEnforced => Ok(()),
        RulesetStatus::NotEnforced => Err("Landlock did not enforce the rules".into()),
    }
}
