// SPDX-License-Identifier: GPL-2.0
// Shipper's process events, taken in the kernel at the instant they happen: fork (processes, not threads), exec
// (with arguments, executable identity and working directory) and exit (once the whole thread group is gone).
// CO-RE: compiled once against a vmlinux.h from BTF, relocated by libbpf against the running kernel's BTF.
// The record layout below is read by EbpfRecord.cs; keep the two in step (the static asserts pin the offsets).

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define KIND_FORK 1
#define KIND_EXEC 2
#define KIND_EXIT 3

#define FLAG_ARGS_TRUNCATED 0x1
#define FLAG_EXE_INCOMPLETE 0x2
#define FLAG_CWD_INCOMPLETE 0x4
#define FLAG_EXE_DELETED 0x8
#define FLAG_NO_EXE 0x10
#define FLAG_NO_CWD 0x20
#define FLAG_ARGS_UNREADABLE 0x40
#define FLAG_NO_MM 0x80

#define PATH_LIMIT 4096
#define PATH_MASK (PATH_LIMIT - 1)
#define PATHS_SIZE (2 * PATH_LIMIT)
#define PATH_DEPTH 64
#define NAME_MASK 255
#define SIGNAL_GROUP_EXIT 0x4

// Set by the loader before the program is loaded; the verifier reads .rodata as constants, which is what lets the
// argument copy be as long as the user configured and still be proven in bounds.
const volatile __u32 max_args_bytes = 16384;

struct record {
	__u32 kind;
	__u32 flags;
	__u64 ktime_ns;
	__u64 start_boottime;
	__u64 mnt_ns;
	__u64 cgroup_id;
	__u64 cap_effective;
	__u64 cap_permitted;
	__u32 pid;
	__u32 tgid;
	__u32 ppid;
	__u32 pgid;
	__u32 sid;
	__u32 tty_nr;
	__u32 task_flags;
	__u32 exit_code;
	__u32 exit_signal;
	__u32 uid[4];
	__u32 gid[4];
	char comm[16];
	__u32 exe_mode;
	__u64 exe_ino;
	__s64 exe_size;
	__s64 exe_mtime_sec;
	__s64 exe_ctime_sec;
	__u32 exe_mtime_nsec;
	__u32 exe_ctime_nsec;
	__u32 exe_uid;
	__u32 exe_gid;
	__u32 exe_nlink;
	__u32 exe_dev;
	__u32 exe_len;
	__u32 cwd_len;
	__u32 args_len;
	__u32 args_size;
	__u32 argc;
	__u32 reserved;
	// Then exe_len bytes of executable path, cwd_len of working directory, args_len of NUL-separated arguments.
	char data[];
};

_Static_assert(__builtin_offsetof(struct record, pid) == 56, "record layout");
_Static_assert(__builtin_offsetof(struct record, comm) == 124, "record layout");
_Static_assert(__builtin_offsetof(struct record, exe_ino) == 144, "record layout");
_Static_assert(__builtin_offsetof(struct record, exe_len) == 200, "record layout");
_Static_assert(__builtin_offsetof(struct record, argc) == 216, "record layout");
_Static_assert(sizeof(struct record) == 224, "record layout");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

// Records that did not fit in the ring buffer, per CPU: user space reports them as process.lost and resyncs.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

// One record under construction per CPU (tracepoint programs run with preemption off), keyed by CPU number: a
// per-CPU array's values are capped at 32 KiB. The loader sets max_entries to the possible CPUs and the value size
// to sizeof(struct record) + PATHS_SIZE + max_args_bytes; no BTF type, so it can.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct record) + PATHS_SIZE + 16384);
} scratch SEC(".maps");

// Paths are built right to left in the first half; the second half is room for the last name's overhang.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 2 * PATH_LIMIT);
} path_scratch SEC(".maps");

// Inode timestamps moved around over the kernel's history; CO-RE picks whichever this kernel has.
struct inode___v611 {
	time64_t i_mtime_sec;
	time64_t i_ctime_sec;
	u32 i_mtime_nsec;
	u32 i_ctime_nsec;
} __attribute__((preserve_access_index));

struct inode___v67 {
	struct timespec64 __i_mtime;
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___v66 {
	struct timespec64 i_mtime;
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___old {
	struct timespec64 i_mtime;
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

static __always_inline struct record *scratch_record(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&scratch, &cpu);
}

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);
	if (n)
		*n += 1;
}

static __always_inline __u32 pid_of(struct task_struct *task, enum pid_type type)
{
	struct pid *pid = BPF_CORE_READ(task, signal, pids[type]);
	if (!pid)
		return 0;
	return BPF_CORE_READ(pid, numbers[0].nr);
}

// What /proc/<pid>/stat shows as tty_nr: new_encode_dev(MKDEV(major, minor_start + index)).
static __always_inline __u32 tty_nr_of(struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	if (!tty)
		return 0;
	__u32 major = BPF_CORE_READ(tty, driver, major);
	__u32 minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

static __always_inline void fill_task(struct record *r, struct task_struct *task, __u32 kind)
{
	const struct cred *cred = BPF_CORE_READ(task, real_cred);

	r->kind = kind;
	r->flags = 0;
	r->ktime_ns = bpf_ktime_get_ns();
	r->start_boottime = BPF_CORE_READ(task, start_boottime);
	r->pid = BPF_CORE_READ(task, pid);
	r->tgid = BPF_CORE_READ(task, tgid);
	r->ppid = BPF_CORE_READ(task, real_parent, tgid);
	r->pgid = pid_of(task, PIDTYPE_PGID);
	r->sid = pid_of(task, PIDTYPE_SID);
	r->tty_nr = tty_nr_of(task);
	r->task_flags = BPF_CORE_READ(task, flags);
	r->exit_code = 0;
	r->exit_signal = 0;
	r->uid[0] = BPF_CORE_READ(cred, uid.val);
	r->uid[1] = BPF_CORE_READ(cred, euid.val);
	r->uid[2] = BPF_CORE_READ(cred, suid.val);
	r->uid[3] = BPF_CORE_READ(cred, fsuid.val);
	r->gid[0] = BPF_CORE_READ(cred, gid.val);
	r->gid[1] = BPF_CORE_READ(cred, egid.val);
	r->gid[2] = BPF_CORE_READ(cred, sgid.val);
	r->gid[3] = BPF_CORE_READ(cred, fsgid.val);
	// kernel_cap_t is one u64 since 6.3 and two u32 before: eight bytes either way.
	r->cap_effective = 0;
	r->cap_permitted = 0;
	bpf_core_read(&r->cap_effective, sizeof(__u64), &cred->cap_effective);
	bpf_core_read(&r->cap_permitted, sizeof(__u64), &cred->cap_permitted);
	r->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	r->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	BPF_CORE_READ_STR_INTO(&r->comm, task, comm);
	r->exe_len = 0;
	r->cwd_len = 0;
	r->args_len = 0;
	r->args_size = 0;
	r->argc = 0;
	r->reserved = 0;
}

static __always_inline void send(struct record *r, __u64 size, __u64 wakeup)
{
	__u64 limit = sizeof(struct record) + PATHS_SIZE + max_args_bytes;
	if (size > limit)
		size = limit;
	if (bpf_ringbuf_output(&events, r, size, wakeup) != 0)
		count_lost();
}

struct path_walk {
	char *buf;
	struct dentry *dentry;
	struct mount *mnt;
	struct dentry *mnt_root;
	__u32 off;
	bool complete;
	bool pseudo;
};

// One step of the walk up to the global root; bpf_loop keeps the verifier's work to one pass over it.
static long path_step(__u32 index, void *ctx)
{
	struct path_walk *w = ctx;
	// Plain locals: a BPF_CORE_READ of w->field would ask for a relocation of our own struct.
	struct dentry *dentry = w->dentry;
	struct mount *mnt = w->mnt;
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	// A root that is not its mount's: a pseudo file (memfd, anonymous shared memory), which d_path names
	// "/<name> (deleted)". Its name is the whole path.
	bool pseudo = dentry == parent && dentry != w->mnt_root;
	if (!pseudo && (dentry == w->mnt_root || dentry == parent)) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
		if (dentry == w->mnt_root && up != mnt) {
			// The root of a mount: carry on from where it is mounted.
			w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			w->mnt = up;
			w->mnt_root = BPF_CORE_READ(up, mnt.mnt_root);
			return 0;
		}
		w->complete = true;
		return 1;
	}
	struct qstr name = BPF_CORE_READ(dentry, d_name);
	__u32 len = name.len & NAME_MASK;
	__u32 off = w->off;
	if (off <= len + 1 || off > PATH_LIMIT) // keep off >= 1: a path is at most PATH_LIMIT - 1 bytes
		return 1;
	off -= len;
	bpf_probe_read_kernel(&w->buf[off & PATH_MASK], len, name.name);
	off -= 1;
	w->buf[off & PATH_MASK] = '/';
	w->off = off;
	w->dentry = parent;
	if (pseudo) {
		w->pseudo = true;
		w->complete = true;
		return 1;
	}
	return 0;
}

// Builds the path of (dentry, vfsmnt) as d_path would from the global root, right to left into buf[off, PATH_LIMIT).
// Returns the start offset (PATH_LIMIT for the root itself); sets *incomplete when the depth or length ran out, and
// *pseudo for a file that was never linked anywhere (memfd).
static __always_inline __u32 build_path(char *buf, struct dentry *dentry, struct vfsmount *vfsmnt, bool *incomplete, bool *pseudo)
{
	struct path_walk w = {
		.buf = buf,
		.dentry = dentry,
		.mnt = container_of(vfsmnt, struct mount, mnt),
		.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root),
		.off = PATH_LIMIT,
		.complete = false,
		.pseudo = false,
	};
	bpf_loop(PATH_DEPTH, path_step, &w, 0);
	*incomplete = !w.complete;
	*pseudo = w.pseudo;
	return w.off;
}

// Appends the path to the record's data at *pos; returns its length.
static __always_inline __u32 append_path(struct record *r, __u32 *pos, char *buf, struct dentry *dentry, struct vfsmount *vfsmnt,
					  bool *incomplete, bool *pseudo)
{
	__u32 off = build_path(buf, dentry, vfsmnt, incomplete, pseudo);
	__u32 len;
	if (off >= PATH_LIMIT) {
		buf[0] = '/';
		off = 0;
		len = 1;
	} else {
		len = PATH_LIMIT - off;
	}
	len &= PATH_MASK;
	bpf_probe_read_kernel(&r->data[*pos & (PATHS_SIZE - 1)], len, &buf[off & PATH_MASK]);
	*pos += len;
	return len;
}

static __always_inline bool is_unlinked(struct dentry *dentry)
{
	// d_unlinked(): unhashed and not a root.
	struct hlist_bl_node *pprev_holder = (struct hlist_bl_node *)BPF_CORE_READ(dentry, d_hash.pprev);
	return pprev_holder == 0 && BPF_CORE_READ(dentry, d_parent) != dentry;
}

static __always_inline void fill_file(struct record *r, struct file *file)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	r->exe_ino = BPF_CORE_READ(inode, i_ino);
	r->exe_size = BPF_CORE_READ(inode, i_size);
	r->exe_mode = BPF_CORE_READ(inode, i_mode);
	r->exe_uid = BPF_CORE_READ(inode, i_uid.val);
	r->exe_gid = BPF_CORE_READ(inode, i_gid.val);
	r->exe_nlink = BPF_CORE_READ(inode, __i_nlink);
	r->exe_dev = BPF_CORE_READ(inode, i_sb, s_dev);
	if (bpf_core_field_exists(struct inode___v611, i_mtime_sec)) {
		struct inode___v611 *i = (void *)inode;
		r->exe_mtime_sec = BPF_CORE_READ(i, i_mtime_sec);
		r->exe_mtime_nsec = BPF_CORE_READ(i, i_mtime_nsec);
		r->exe_ctime_sec = BPF_CORE_READ(i, i_ctime_sec);
		// Since 6.13 the top bit says whether ctime was queried (multigrain timestamps): not part of the time.
		r->exe_ctime_nsec = BPF_CORE_READ(i, i_ctime_nsec) & ~(1u << 31);
	} else if (bpf_core_field_exists(struct inode___v67, __i_mtime)) {
		struct inode___v67 *i = (void *)inode;
		r->exe_mtime_sec = BPF_CORE_READ(i, __i_mtime.tv_sec);
		r->exe_mtime_nsec = BPF_CORE_READ(i, __i_mtime.tv_nsec);
		r->exe_ctime_sec = BPF_CORE_READ(i, __i_ctime.tv_sec);
		r->exe_ctime_nsec = BPF_CORE_READ(i, __i_ctime.tv_nsec);
	} else if (bpf_core_field_exists(struct inode___v66, __i_ctime)) {
		struct inode___v66 *i = (void *)inode;
		r->exe_mtime_sec = BPF_CORE_READ(i, i_mtime.tv_sec);
		r->exe_mtime_nsec = BPF_CORE_READ(i, i_mtime.tv_nsec);
		r->exe_ctime_sec = BPF_CORE_READ(i, __i_ctime.tv_sec);
		r->exe_ctime_nsec = BPF_CORE_READ(i, __i_ctime.tv_nsec);
	} else {
		struct inode___old *i = (void *)inode;
		r->exe_mtime_sec = BPF_CORE_READ(i, i_mtime.tv_sec);
		r->exe_mtime_nsec = BPF_CORE_READ(i, i_mtime.tv_nsec);
		r->exe_ctime_sec = BPF_CORE_READ(i, i_ctime.tv_sec);
		r->exe_ctime_nsec = BPF_CORE_READ(i, i_ctime.tv_nsec);
	}
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(shipper_fork, struct task_struct *parent, struct task_struct *child)
{
	// A new thread is not a new process: its end is seen when its group's end is.
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	struct record *r = scratch_record();
	if (!r) {
		count_lost();
		return 0;
	}
	fill_task(r, child, KIND_FORK);
	send(r, sizeof(struct record), BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(shipper_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0;
	struct record *r = scratch_record();
	char *buf = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!r || !buf) {
		count_lost();
		return 0;
	}
	fill_task(r, task, KIND_EXEC);

	__u32 pos = 0;
	bool incomplete = false;
	bool pseudo = false;
	struct file *file = BPF_CORE_READ(bprm, file);
	if (file) {
		fill_file(r, file);
		struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
		r->exe_len = append_path(r, &pos, buf, dentry, BPF_CORE_READ(file, f_path.mnt), &incomplete, &pseudo);
		if (incomplete)
			r->flags |= FLAG_EXE_INCOMPLETE;
		if (pseudo || is_unlinked(dentry))
			r->flags |= FLAG_EXE_DELETED;
	} else {
		r->flags |= FLAG_NO_EXE;
	}

	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	if (fs) {
		r->cwd_len = append_path(r, &pos, buf, BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt), &incomplete, &pseudo);
		if (incomplete)
			r->flags |= FLAG_CWD_INCOMPLETE;
	} else {
		r->flags |= FLAG_NO_CWD;
	}

	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	if (mm) {
		unsigned long start = BPF_CORE_READ(mm, arg_start);
		unsigned long end = BPF_CORE_READ(mm, arg_end);
		__u64 size = end > start ? end - start : 0;
		__u64 len = size;
		if (len > max_args_bytes) {
			len = max_args_bytes;
			r->flags |= FLAG_ARGS_TRUNCATED;
		}
		r->args_size = size;
		// The new stack starts with argc (what /proc's stat field 28 points to): the true count of a cut command line.
		__u64 argc = 0;
		if (bpf_probe_read_user(&argc, sizeof(argc), (void *)BPF_CORE_READ(mm, start_stack)) == 0)
			r->argc = argc > 0xffffffffULL ? 0xffffffffu : (__u32)argc;
		if (len > 0 && bpf_probe_read_user(&r->data[pos & (PATHS_SIZE - 1)], len, (void *)start) != 0) {
			r->flags |= FLAG_ARGS_UNREADABLE;
			len = 0;
		}
		r->args_len = len;
	} else {
		r->flags |= FLAG_NO_MM;
	}

	send(r, sizeof(struct record) + (pos & (PATHS_SIZE - 1)) + r->args_len, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(shipper_exit, struct task_struct *task)
{
	// Only the last thread of a group ends the process; with the exit code the parent's wait sees.
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	struct record *r = scratch_record();
	if (!r) {
		count_lost();
		return 0;
	}
	fill_task(r, task, KIND_EXIT);
	__u32 signal_flags = BPF_CORE_READ(task, signal, flags);
	r->exit_code = (signal_flags & SIGNAL_GROUP_EXIT) ? BPF_CORE_READ(task, signal, group_exit_code) : BPF_CORE_READ(task, exit_code);
	r->exit_signal = BPF_CORE_READ(task, exit_signal);
	send(r, sizeof(struct record), BPF_RB_NO_WAKEUP);
	return 0;
}
