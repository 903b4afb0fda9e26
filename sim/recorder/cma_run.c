// SPDX-License-Identifier: GPL-2.0
/*
 * cma_run — the guest-side driver of /dev/cma_test, cross-built statically for
 * arm64 by record.sh and started by the initramfs /init.
 *
 *   cma_run run FILE            one workload command per line ('#' comments),
 *                               each preceded by a trace marker "step N: <cmd>",
 *                               followed by one "@@STEP N rc=... cmd=... | ..." line
 *                               with CmaTotal/CmaFree and the CMA vmstat counters.
 *                               The pseudo-command "read" does a read() instead of
 *                               a write (the legacy free-oldest); "huge SIZE N"
 *                               (SIZE 32M, 1G, ... the huge page size) writes N to
 *                               /sys/kernel/mm/hugepages/hugepages-<kB>kB/nr_hugepages
 *                               instead of the device (gigantic pages come from the
 *                               hugetlb_cma= area) and appends " nr_hugepages=N
 *                               free_hugepages=M" (read back after the write) to its
 *                               @@STEP line, after the counters.
 *   cma_run cmd CMD...          write each CMD as one step (same output); exits
 *                               with the number of steps that failed
 *   cma_run fuzz SEED N WRITERS N random writes (garbage, overlong, binary, valid
 *                               commands) split over WRITERS concurrent processes,
 *                               each on its own descriptor; prints a summary.
 *
 * record.sh installs it as /rig in the initramfs, so that the guest task name
 * (in trace lines and warnings) does not contain "cma", which log parsers key on.
 *
 * Plain C, libc only: no shell per step, so a step costs a few syscalls even
 * under QEMU's TCG.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEV "/dev/cma_test"
#define MARKER "/sys/kernel/tracing/trace_marker"

static int dev_fd = -1, dev_errno, marker_fd = -1;
static unsigned long step_no;

#define HUGE_DIR "/sys/kernel/mm/hugepages/hugepages-"

/* "huge SIZE N": SIZE in bytes with an optional K/M/G suffix -> its sysfs folder's
 * kB; 0 if the command is not of that form. */
static unsigned long huge_kb(const char *cmd, unsigned long *count)
{
	char unit = 0, extra;
	unsigned long size, n;
	int k = sscanf(cmd, "huge %lu%c %lu %c", &size, &unit, &n, &extra);

	if (strncmp(cmd, "huge ", 5) || k != 3)
		return 0;
	switch (unit) {
	case 'K': break;
	case 'M': size <<= 10; break;
	case 'G': size <<= 20; break;
	default: return 0;
	}
	*count = n;
	return size;
}

static long read_ulong(const char *path)
{
	char buf[32];
	long v = -1;
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		ssize_t r = read(fd, buf, sizeof buf - 1);

		if (r > 0) {
			buf[r] = '\0';
			v = strtol(buf, NULL, 10);
		}
		close(fd);
	}
	return v;
}

/* writes n to nr_hugepages of the kb-sized pages; fills tail with what it reads back */
static int huge_step(unsigned long kb, unsigned long n, char *tail, size_t len)
{
	char path[128], num[32];
	int rc = 0, fd, k;

	snprintf(path, sizeof path, HUGE_DIR "%lukB/nr_hugepages", kb);
	k = snprintf(num, sizeof num, "%lu", n);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, num, (size_t)k) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof path, HUGE_DIR "%lukB/nr_hugepages", kb);
	long nr = read_ulong(path);
	snprintf(path, sizeof path, HUGE_DIR "%lukB/free_hugepages", kb);
	long fr = read_ulong(path);
	snprintf(tail, len, " nr_hugepages=%ld free_hugepages=%ld", nr, fr);
	return rc;
}

static void read_counters(char *out, size_t len)
{
	static const char *vm_keys[] = { "pgmigrate_success", "pgmigrate_fail",
					 "cma_alloc_success", "cma_alloc_fail" };
	char line[256], tot[32] = "?", fre[32] = "?";
	char vm[4][32] = { "?", "?", "?", "?" };
	FILE *f = fopen("/proc/meminfo", "r");

	if (f) {
		while (fgets(line, sizeof line, f)) {
			if (!strncmp(line, "CmaTotal:", 9))
				sscanf(line + 9, "%31s", tot);
			else if (!strncmp(line, "CmaFree:", 8))
				sscanf(line + 8, "%31s", fre);
		}
		fclose(f);
	}
	f = fopen("/proc/vmstat", "r");
	if (f) {
		while (fgets(line, sizeof line, f)) {
			for (int i = 0; i < 4; i++) {
				size_t k = strlen(vm_keys[i]);
				if (!strncmp(line, vm_keys[i], k) && line[k] == ' ')
					sscanf(line + k + 1, "%31s", vm[i]);
			}
		}
		fclose(f);
	}
	snprintf(out, len, "CmaTotal: %s kB CmaFree: %s kB %s=%s %s=%s %s=%s %s=%s",
		 tot, fre, vm_keys[0], vm[0], vm_keys[1], vm[1], vm_keys[2], vm[2],
		 vm_keys[3], vm[3]);
}

static int do_step(const char *cmd)
{
	char mark[256], counters[256], tail[96] = "";
	unsigned long kb, n = 0;
	int rc = 0;

	kb = huge_kb(cmd, &n);
	if (!kb && dev_fd < 0) {
		errno = dev_errno;
		perror(DEV);
		exit(2);
	}
	step_no++;
	snprintf(mark, sizeof mark, "step %lu: %s", step_no, cmd);
	if (marker_fd >= 0 && write(marker_fd, mark, strlen(mark)) < 0)
		perror("trace_marker");
	if (kb) {
		rc = huge_step(kb, n, tail, sizeof tail);
	} else if (!strcmp(cmd, "read")) {
		char buf[64];
		int fd = open(DEV, O_RDWR);

		if (fd < 0 || read(fd, buf, sizeof buf) < 0)
			rc = -errno;
		if (fd >= 0)
			close(fd);
	} else if (write(dev_fd, cmd, strlen(cmd)) < 0) {
		rc = -errno;
	}
	read_counters(counters, sizeof counters);
	printf("@@STEP %lu rc=%d cmd=%s | %s%s\n", step_no, rc, cmd, counters, tail);
	fflush(stdout);
	return rc;
}

static void open_fds(void)
{
	dev_fd = open(DEV, O_RDWR);
	dev_errno = errno; /* a device step without the device exits 2 (huge steps need none) */
	marker_fd = open(MARKER, O_WRONLY);
	if (marker_fd < 0)
		perror(MARKER);
}

static int run_file(const char *path)
{
	char line[4096];
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		return 2;
	}
	open_fds();
	while (fgets(line, sizeof line, f)) {
		char *s = line, *e;

		if ((e = strchr(s, '#')))
			*e = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*s)
			do_step(s);
	}
	fclose(f);
	return 0;
}

/* --- fuzz ------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static const char *const edge_cmds[] = {
	"alloc 0", "alloc -1", "alloc -4096", "allocp 0", "allocp -1", "alloc +4096",
	"alloc 18446744073709551615", "alloc 18446744073709551616", "allocp 18446744073709551615",
	"allocp 4503599627370496", "alloc 17179869184G", "alloc 99999999999999999999999",
	"alloc 4KK", "alloc 4T", "alloc K", "alloc 0x1000", "alloc 1e6", "alloc 4 K",
	"alloc 2G", "alloc 1G", "allocp 1048576", "alloc", "allocp", "free -1", "free abc",
	"free 99999999999", "free 18446744073709551616", "freeidx", "freeidx -1", "freeidx x",
	"freeall 1", "mode", "mode foo", "mode coherent pages", "nowarn", "nowarn 2",
	"nowarn -1", "hog 0", "hog -1", "hog 999999999", "hog", "unhog 1", "list 1",
	"ALLOC 4K", "Alloc 4K", "alloc\t4K", "  alloc   4K  ", "\n", " ", "\t\n", "0", "-1",
	"00000000000000000000000000000000000000000000000000000000000000", "4294967296",
	"18446744073709551615", "1 2", "alloc 4K extra", "free 1 2",
};

static void gen_valid(char *buf, size_t *len)
{
	switch (below(13)) {
	case 0: case 1: /* bytes, log-uniform up to 1 MiB, with suffixes */
		switch (below(3)) {
		case 0: *len = sprintf(buf, "alloc %u", 1 + below(1u << (1 + below(20)))); break;
		case 1: *len = sprintf(buf, "alloc %uK", 1 + below(1u << below(10))); break;
		default: *len = sprintf(buf, "alloc %uM", 1u); break;
		}
		break;
	case 2: case 3: *len = sprintf(buf, "allocp %u", 1 + below(1u << below(9))); break;
	case 4: *len = sprintf(buf, "%u", 1u); break;
	case 5: *len = sprintf(buf, "free"); break;
	case 6: *len = sprintf(buf, "free %u", below(4096)); break;
	case 7: case 8: *len = sprintf(buf, "freeidx %" PRIu64, rnd() >> below(64)); break;
	case 9: *len = sprintf(buf, below(20) ? "list" : "freeall"); break;
	case 10: *len = sprintf(buf, below(2) ? "mode coherent" : "mode pages"); break;
	case 11: *len = sprintf(buf, "nowarn 1"); break; /* never 0: >4 MiB fallbacks WARN */
	default: *len = sprintf(buf, below(3) ? "hog %u" : "unhog", 1 + below(8)); break;
	}
	if (below(4) == 0)
		buf[(*len)++] = '\n';
}

struct fuzz_stats {
	unsigned long writes, ok, reads, err[256];
};

static void fuzz_writer(unsigned id, uint64_t seed, unsigned long n, struct fuzz_stats *st)
{
	static char buf[16384];
	int fd = open(DEV, O_RDWR);

	rng_state = seed * 0x100000001b3ULL + id;
	if (fd < 0) {
		perror(DEV);
		exit(2);
	}
	if (write(fd, "nowarn 1", 8) < 0)
		perror("nowarn 1");
	while (st->writes < n) { /* reads and reopens come on top of the n writes */
		size_t len = 0;
		const void *p = buf;
		unsigned kind = below(100);
		ssize_t r;

		if (kind < 35) {
			gen_valid(buf, &len);
		} else if (kind < 50) {
			const char *c = edge_cmds[below(sizeof edge_cmds / sizeof edge_cmds[0])];
			len = strlen(c);
			memcpy(buf, c, len);
		} else if (kind < 65) { /* printable garbage */
			len = 1 + below(64);
			for (size_t k = 0; k < len; k++)
				buf[k] = (char)(0x20 + below(95));
		} else if (kind < 75) { /* overlong */
			len = 65 + below(sizeof buf - 65);
			for (size_t k = 0; k < len; k++)
				buf[k] = below(2) ? '9' : (char)(0x20 + below(95));
			if (below(2))
				memcpy(buf, "alloc 4K", 8);
		} else if (kind < 90) { /* binary junk, NULs included */
			len = 1 + below(96);
			for (size_t k = 0; k < len; k++)
				buf[k] = (char)rnd();
			if (below(3) == 0) { /* a valid command with a NUL or high byte in it */
				memcpy(buf, "alloc 4K", 8);
				buf[below(8)] = below(2) ? '\0' : (char)0xff;
				len = 8;
			}
		} else if (kind < 93) { /* empty write */
			len = 0;
		} else if (kind < 95) { /* bad user pointer */
			p = (const void *)(uintptr_t)(below(2) ? 1 : 0xffffffffffff0000ULL);
			len = 1 + below(32);
		} else if (kind < 98) { /* legacy read: free oldest */
			char rb[64];
			if (read(fd, rb, sizeof rb) >= 0)
				st->reads++;
			lseek(fd, 0, SEEK_SET); /* nonseekable: fails, offset stays */
			close(fd);
			fd = open(DEV, O_RDWR);
			if (fd < 0) {
				perror(DEV);
				exit(2);
			}
			continue;
		} else { /* reopen */
			close(fd);
			fd = open(DEV, O_RDWR);
			if (fd < 0) {
				perror(DEV);
				exit(2);
			}
			continue;
		}
		st->writes++;
		r = write(fd, p, len);
		if (r >= 0) {
			st->ok++;
			if ((size_t)r != len)
				fprintf(stderr, "writer %u: short write %zd of %zu\n", id, r, len);
		} else {
			st->err[errno & 255]++;
		}
	}
	close(fd);
}

static int run_fuzz(uint64_t seed, unsigned long n, unsigned writers)
{
	int pipes[64][2];
	struct fuzz_stats total = { 0 };
	int bad = 0;

	if (writers == 0 || writers > 64)
		return 2;
	for (unsigned w = 0; w < writers; w++) {
		if (pipe(pipes[w]) < 0)
			return 2;
		pid_t pid = fork();
		if (pid == 0) {
			struct fuzz_stats st = { 0 };
			close(pipes[w][0]);
			fuzz_writer(w, seed, n / writers + (w < n % writers), &st);
			if (write(pipes[w][1], &st, sizeof st) != sizeof st)
				_exit(3);
			_exit(0);
		}
		close(pipes[w][1]);
	}
	for (unsigned w = 0; w < writers; w++) {
		struct fuzz_stats st;
		int status;

		if (read(pipes[w][0], &st, sizeof st) != sizeof st) {
			bad = 1;
			continue;
		}
		total.writes += st.writes;
		total.ok += st.ok;
		total.reads += st.reads;
		for (int e = 0; e < 256; e++)
			total.err[e] += st.err[e];
		close(pipes[w][0]);
		wait(&status);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad = 1;
	}
	printf("@@FUZZ seed=%" PRIu64 " writers=%u writes=%lu ok=%lu reads=%lu", seed, writers,
	       total.writes, total.ok, total.reads);
	for (int e = 0; e < 256; e++)
		if (total.err[e])
			printf(" %s=%lu", strerrorname_np(e) ? strerrorname_np(e) : "E?", total.err[e]);
	printf(" status=%s\n", bad ? "writer-failed" : "ok");
	fflush(stdout);
	return bad;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "run"))
		return run_file(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "cmd")) {
		int failed = 0;

		open_fds();
		for (int i = 2; i < argc; i++)
			failed += do_step(argv[i]) != 0;
		return failed; /* the number of steps whose write failed */
	}
	if (argc == 5 && !strcmp(argv[1], "fuzz"))
		return run_fuzz(strtoull(argv[2], NULL, 0), strtoul(argv[3], NULL, 0),
				(unsigned)strtoul(argv[4], NULL, 0));
	fprintf(stderr, "usage: cma_run run FILE | cma_run cmd CMD... | cma_run fuzz SEED N WRITERS\n");
	return 2;
}
