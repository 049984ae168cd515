//! The sandbox's seccomp filter: the system calls an MCP server never needs
//! and an escape would (the kernel's attack surface and other processes),
//! refused with `EPERM`. Everything else is allowed: this is a deny list,
//! like Docker's default profile in spirit, kept short so runtimes (node,
//! Python, uv) work unchanged.
//!
//! Refused: debugging other processes (`ptrace`, `process_vm_*`), kernel
//! modules and `kexec`, mounts and root changes, namespaces (`unshare`,
//! `setns`, and `clone` with any namespace flag; `clone3`, whose flags a
//! filter cannot read, answers `ENOSYS` so that libc falls back to `clone`),
//! BPF, perf events, `userfaultfd`, keyrings, `io_uring` (its operations
//! bypass seccomp), clock and swap changes, reboot, `acct`, `quotactl`,
//! handles to files by number, the kernel log. A process of another
//! architecture (32-bit calls on x86-64) is killed by the filter's
//! architecture check; x32 numbers of the refused calls are refused too.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// Namespace flags that `clone` may not carry.
const NAMESPACE_FLAGS: &[libc::c_int] = &[
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWNS,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWCGROUP,
];

/// The refused calls, by number on this architecture.
fn refused() -> Vec<libc::c_long> {
    let mut calls = vec![
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_move_mount,
        libc::SYS_open_tree,
        libc::SYS_mount_setattr,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_reboot,
        libc::SYS_acct,
        libc::SYS_settimeofday,
        libc::SYS_clock_settime,
        libc::SYS_clock_adjtime,
        libc::SYS_adjtimex,
        libc::SYS_quotactl,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_syslog,
        libc::SYS_vhangup,
        libc::SYS_kcmp,
    ];
    #[cfg(target_arch = "x86_64")]
    calls.extend([libc::SYS_iopl, libc::SYS_ioperm, libc::SYS_uselib]);
    calls
}

fn arch() -> Result<TargetArch, String> {
    TargetArch::try_from(std::env::consts::ARCH).map_err(|e| format!("{e}"))
}

/// The filter that answers `EPERM`.
fn deny_filter() -> Result<BpfProgram, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for call in refused() {
        rules.insert(call, Vec::new());
        // The x32 ABI numbers the same calls with this bit (kernels with x32 only).
        #[cfg(target_arch = "x86_64")]
        rules.insert(call | 0x4000_0000, Vec::new());
    }
    let clone_rules = NAMESPACE_FLAGS
        .iter()
        .map(|&flag| {
            let flag = flag as u64;
            SeccompCondition::new(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(flag),
                flag,
            )
            .and_then(|c| SeccompRule::new(vec![c]))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{e}"))?;
    rules.insert(libc::SYS_clone, clone_rules);
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch()?,
    )
    .map_err(|e| format!("{e}"))?;
    BpfProgram::try_from(filter).map_err(|e| format!("{e}"))
}

/// The filter that answers `ENOSYS` to `clone3`.
fn clone3_filter() -> Result<BpfProgram, String> {
    let rules = BTreeMap::from([(libc::SYS_clone3, Vec::new())]);
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch()?,
    )
    .map_err(|e| format!("{e}"))?;
    BpfProgram::try_from(filter).map_err(|e| format!("{e}"))
}

/// Whether the kernel filters system calls at all.
pub(crate) fn available() -> bool {
    // SAFETY: PR_GET_SECCOMP reads this thread's mode; no pointers.
    unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 }
}

/// Installs both filters on this process, for good. No-new-privileges must
/// be set already.
pub(crate) fn install() -> Result<(), String> {
    let programs = [deny_filter()?, clone3_filter()?];
    for program in &programs {
        seccompiler::apply_filter(program).map_err(|e| format!("{e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filters_compile_for_this_machine() {
        let deny = deny_filter().unwrap();
        assert!(deny.len() > refused().len(), "{}", deny.len());
        assert!(!clone3_filter().unwrap().is_empty());
        assert!(
            !refused().contains(&libc::SYS_clone),
            "clone is filtered by its flags"
        );
        assert!(!refused().contains(&libc::SYS_execve));
    }
}
