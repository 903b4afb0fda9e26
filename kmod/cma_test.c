// SPDX-License-Identifier: GPL-2.0
/*
 * cma_test — drive the kernel's default CMA area through the DMA API and log
 * every operation in one machine-readable line (see FORMAT.md).
 *
 * The module registers a platform device of its own with a 64-bit DMA mask and
 * a misc device /dev/cma_test.  Every write() is one text command; see
 * README.md for the protocol.  A bad command returns an errno and changes
 * nothing.  A read() frees the oldest allocation (the field notes' legacy
 * protocol); rmmod frees everything still held.
 *
 * Which CMA area served an allocation cannot be asked of the kernel from a
 * module (cma_alloc and dma_contiguous_default_area are not exported), so the
 * recorder passes the default area's placement from the boot log as
 * cma_base= / cma_size=; cma=1 in a log line means the returned PFN range lies
 * inside that window.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/nodemask.h>
#include <linux/numa.h>
#include <linux/overflow.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/version.h>

#define DRV_NAME "cma_test"
#define CMD_MAX 64		/* longest accepted write, in bytes */

#ifdef CONFIG_CMA_ALIGNMENT
#define CT_CMA_ALIGNMENT CONFIG_CMA_ALIGNMENT
#else
#define CT_CMA_ALIGNMENT 8
#endif

static unsigned long long cma_base;	/* physical base of the default area */
module_param(cma_base, ullong, 0444);
MODULE_PARM_DESC(cma_base, "physical base of the default CMA area (from 'cma: Reserved N MiB at 0x...')");

static unsigned long long cma_size;	/* bytes */
module_param(cma_size, ullong, 0444);
MODULE_PARM_DESC(cma_size, "size in bytes of the default CMA area (0: unknown, every cma= is 0)");

static int node = NUMA_NO_NODE;	/* the device's NUMA node */
module_param(node, int, 0444);
MODULE_PARM_DESC(node, "NUMA node of the device (-1: none); dma_alloc_contiguous() tries that node's numa/pernuma CMA area first");

static unsigned int max_live = 4096;
module_param(max_live, uint, 0444);
MODULE_PARM_DESC(max_live, "most allocations held at once (more: -ENOSPC)");

static unsigned int max_hog = 4096;
module_param(max_hog, uint, 0444);
MODULE_PARM_DESC(max_hog, "most pages held by hog at once");

enum ct_mode { CT_COHERENT, CT_PAGES };

struct ct_alloc {
	struct list_head node;	/* in ct_allocs, oldest first */
	u64 id;
	size_t bytes;		/* as requested (dma_* round it up to pages) */
	unsigned long pages;
	unsigned long pfn;
	bool in_cma;
	enum ct_mode mode;
	void *cpu_addr;		/* CT_COHERENT */
	struct page *page;	/* CT_PAGES */
	dma_addr_t handle;
};

static DEFINE_MUTEX(ct_lock);	/* guards everything below */
static LIST_HEAD(ct_allocs);
static unsigned int ct_nlive;
static u64 ct_next_id;
static enum ct_mode ct_cur_mode = CT_COHERENT;
static bool ct_nowarn;
static LIST_HEAD(ct_hogs);	/* pages held via page->lru (pages are ours, off the LRU) */
static unsigned long ct_nhog;

static struct platform_device *ct_pdev;
static struct device *ct_dev;

static const char *mode_name(enum ct_mode m)
{
	return m == CT_PAGES ? "pages" : "coherent";
}

static bool range_in_cma(unsigned long pfn, unsigned long pages)
{
	u64 start = (u64)pfn << PAGE_SHIFT;
	u64 end = start + ((u64)pages << PAGE_SHIFT);

	if (!cma_size)
		return false;
	return start >= cma_base && end <= cma_base + cma_size;
}

/* Largest request we accept: the area's size if known, else all RAM. */
static u64 max_request_bytes(void)
{
	if (cma_size)
		return cma_size;
	return (u64)totalram_pages() << PAGE_SHIFT;
}

/* Strict unsigned decimal: digits only, no sign, no leading junk; 0 on overflow. */
static int parse_u64(const char *s, u64 *out)
{
	u64 v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (check_mul_overflow(v, (u64)10, &v) ||
		    check_add_overflow(v, (u64)(*s - '0'), &v))
			return -ERANGE;
	}
	*out = v;
	return 0;
}

/* <digits>[K|M|G] (case-insensitive) in bytes. */
static int parse_size(char *s, u64 *out)
{
	size_t len = strlen(s);
	unsigned int shift = 0;
	u64 v;
	int ret;

	if (len == 0)
		return -EINVAL;
	switch (s[len - 1]) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	}
	if (shift)
		s[len - 1] = '\0';
	ret = parse_u64(s, &v);
	if (ret)
		return ret;
	if (shift && v > (U64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

static void do_free_one(struct ct_alloc *a)
{
	if (a->mode == CT_PAGES)
		dma_free_pages(ct_dev, a->bytes, a->page, a->handle, DMA_BIDIRECTIONAL);
	else
		dma_free_coherent(ct_dev, a->bytes, a->cpu_addr, a->handle);
	pr_info("v1 op=free id=%llu pages=%lu pfn=0x%lx cma=%d\n",
		a->id, a->pages, a->pfn, a->in_cma ? 1 : 0);
	list_del(&a->node);
	ct_nlive--;
	kfree(a);
}

static void do_free_all(void)
{
	struct ct_alloc *a, *tmp;

	list_for_each_entry_safe(a, tmp, &ct_allocs, node)
		do_free_one(a);
}

/*
 * One allocation of @bytes (already validated: 0 < bytes <= max_request_bytes()).
 * Returns 0 or -ENOMEM; either way exactly one op=alloc line is logged and one
 * id is used up.
 */
static int do_alloc(u64 bytes, enum ct_mode mode)
{
	gfp_t gfp = GFP_KERNEL | (ct_nowarn ? __GFP_NOWARN : 0);
	unsigned long pages = PAGE_ALIGN(bytes) >> PAGE_SHIFT;
	unsigned int align = min_t(unsigned int, get_order(bytes), CT_CMA_ALIGNMENT);
	struct ct_alloc *a;
	int err = 0;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOBUFS;	/* not a CMA operation: logged as a reject */
	a->id = ct_next_id++;
	a->bytes = bytes;
	a->pages = pages;
	a->mode = mode;
	if (mode == CT_PAGES) {
		a->page = dma_alloc_pages(ct_dev, bytes, &a->handle, DMA_BIDIRECTIONAL, gfp);
		if (a->page)
			a->pfn = page_to_pfn(a->page);
		else
			err = -ENOMEM;
	} else {
		a->cpu_addr = dma_alloc_coherent(ct_dev, bytes, &a->handle, gfp);
		/* dma-direct on qemu's virt board: bus address == physical address */
		if (a->cpu_addr)
			a->pfn = (unsigned long)(a->handle >> PAGE_SHIFT);
		else
			err = -ENOMEM;
	}
	if (!err)
		a->in_cma = range_in_cma(a->pfn, pages);
	pr_info("v1 op=alloc id=%llu bytes=%llu pages=%lu align=%u pfn=0x%lx cma=%d mode=%s err=%d\n",
		a->id, bytes, pages, align, err ? 0UL : a->pfn, a->in_cma ? 1 : 0,
		mode_name(mode), err);
	if (err) {
		kfree(a);
		return err;
	}
	list_add_tail(&a->node, &ct_allocs);
	ct_nlive++;
	return 0;
}

/*
 * Hold @want movable pages that land inside the CMA area, off the LRU, so that
 * alloc_contig_range() cannot migrate them and cma_alloc() must retry (-EBUSY).
 * They only land there when freed CMA pages sit on the per-CPU lists (free a
 * CMA buffer first).  Pages that land elsewhere are held until the end of the
 * search so the allocator does not hand them back, then freed.
 */
static int do_hog(unsigned long want)
{
	unsigned long tries, max_tries = min(2048 + 8 * want, 16384UL), kept = 0;
	unsigned long base_pfn = cma_base >> PAGE_SHIFT;
	LIST_HEAD(misses);
	struct page *p, *tmp;

	for (tries = 0; tries < max_tries && kept < want; tries++) {
		unsigned long pfn;

		p = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
		if (!p)
			break;
		pfn = page_to_pfn(p);
		if (range_in_cma(pfn, 1)) {
			list_add_tail(&p->lru, &ct_hogs);
			ct_nhog++;
			kept++;
			pr_info("v1 op=hog pfn=0x%lx\n", pfn);
		} else {
			list_add(&p->lru, &misses);
		}
	}
	list_for_each_entry_safe(p, tmp, &misses, lru) {
		list_del(&p->lru);
		__free_page(p);
	}
	pr_debug("hog: kept %lu of %lu pages after %lu tries (base_pfn 0x%lx, held %lu)\n",
		 kept, want, tries, base_pfn, ct_nhog);
	return kept ? 0 : -EAGAIN;
}

static void do_unhog(void)
{
	struct page *p, *tmp;
	unsigned long n = 0;

	list_for_each_entry_safe(p, tmp, &ct_hogs, lru) {
		list_del(&p->lru);
		__free_page(p);
		n++;
	}
	ct_nhog = 0;
	pr_info("v1 op=unhog pages=%lu\n", n);
}

static void do_list(void)
{
	struct ct_alloc *a;
	unsigned int k = 0;

	list_for_each_entry(a, &ct_allocs, node)
		pr_info("live: idx=%u id=%llu bytes=%zu pages=%lu pfn=0x%lx cma=%d mode=%s\n",
			k++, a->id, a->bytes, a->pages, a->pfn, a->in_cma ? 1 : 0,
			mode_name(a->mode));
	pr_info("live: total=%u hogged=%lu mode=%s nowarn=%d\n",
		ct_nlive, ct_nhog, mode_name(ct_cur_mode), ct_nowarn ? 1 : 0);
}

static struct ct_alloc *find_id(u64 id)
{
	struct ct_alloc *a;

	list_for_each_entry(a, &ct_allocs, node)
		if (a->id == id)
			return a;
	return NULL;
}

static struct ct_alloc *find_idx(u64 k)
{
	struct ct_alloc *a;
	u64 i = 0;

	k %= ct_nlive;
	list_for_each_entry(a, &ct_allocs, node)
		if (i++ == k)
			return a;
	return NULL;
}

/* Validated allocation request of @bytes; -EINVAL for 0 or beyond the area. */
static int checked_alloc(u64 bytes, enum ct_mode mode)
{
	if (bytes == 0 || bytes > max_request_bytes())
		return -EINVAL;
	if (ct_nlive >= max_live)
		return -ENOSPC;
	return do_alloc(bytes, mode);
}

/* Split @buf in place into at most @max whitespace-separated words. */
static int split_words(char *buf, char **w, int max)
{
	int n = 0;
	char *tok;

	while ((tok = strsep(&buf, " \t")) != NULL) {
		if (!*tok)
			continue;
		if (n == max)
			return -EINVAL;
		w[n++] = tok;
	}
	return n;
}

/* Run one command (NUL-terminated, printable ASCII).  ct_lock is held. */
static int run_command(char *buf)
{
	char *w[2];
	u64 v;
	int n, ret;

	n = split_words(buf, w, 2);
	if (n <= 0)
		return -EINVAL;

	if (n == 1 && w[0][0] >= '0' && w[0][0] <= '9') {	/* legacy: N MiB */
		ret = parse_u64(w[0], &v);
		if (ret)
			return ret;
		if (v > (U64_MAX >> 20))
			return -ERANGE;
		return checked_alloc(v << 20, CT_COHERENT);
	}
	if (!strcmp(w[0], "alloc") && n == 2) {
		ret = parse_size(w[1], &v);
		return ret ? ret : checked_alloc(v, ct_cur_mode);
	}
	if (!strcmp(w[0], "allocp") && n == 2) {
		ret = parse_u64(w[1], &v);
		if (ret)
			return ret;
		if (v > (U64_MAX >> PAGE_SHIFT))
			return -ERANGE;
		return checked_alloc(v << PAGE_SHIFT, ct_cur_mode);
	}
	if (!strcmp(w[0], "free")) {
		struct ct_alloc *a;

		if (n == 1) {
			if (list_empty(&ct_allocs))
				return -ENOENT;
			do_free_one(list_first_entry(&ct_allocs, struct ct_alloc, node));
			return 0;
		}
		ret = parse_u64(w[1], &v);
		if (ret)
			return ret;
		a = find_id(v);
		if (!a)
			return -ENOENT;
		do_free_one(a);
		return 0;
	}
	if (!strcmp(w[0], "freeidx") && n == 2) {
		ret = parse_u64(w[1], &v);
		if (ret)
			return ret;
		if (!ct_nlive)
			return -ENOENT;
		do_free_one(find_idx(v));
		return 0;
	}
	if (!strcmp(w[0], "freeall") && n == 1) {
		do_free_all();
		return 0;
	}
	if (!strcmp(w[0], "mode") && n == 2) {
		if (!strcmp(w[1], "coherent"))
			ct_cur_mode = CT_COHERENT;
		else if (!strcmp(w[1], "pages"))
			ct_cur_mode = CT_PAGES;
		else
			return -EINVAL;
		pr_info("v1 op=mode value=%s\n", mode_name(ct_cur_mode));
		return 0;
	}
	if (!strcmp(w[0], "nowarn") && n == 2) {
		if (!strcmp(w[1], "0"))
			ct_nowarn = false;
		else if (!strcmp(w[1], "1"))
			ct_nowarn = true;
		else
			return -EINVAL;
		pr_info("v1 op=nowarn value=%d\n", ct_nowarn ? 1 : 0);
		return 0;
	}
	if (!strcmp(w[0], "hog") && n == 2) {
		ret = parse_u64(w[1], &v);
		if (ret)
			return ret;
		if (!cma_size || v == 0 || v > max_hog - ct_nhog ||
		    v > (cma_size >> PAGE_SHIFT))
			return -EINVAL;
		return do_hog((unsigned long)v);
	}
	if (!strcmp(w[0], "unhog") && n == 1) {
		do_unhog();
		return 0;
	}
	if (!strcmp(w[0], "list") && n == 1) {
		do_list();
		return 0;
	}
	return -EINVAL;
}

static ssize_t ct_write(struct file *file, const char __user *ubuf, size_t len, loff_t *ppos)
{
	char buf[CMD_MAX + 1];
	size_t i, n = len;
	int ret;

	if (len == 0 || len > CMD_MAX) {
		ret = -EINVAL;
		goto reject_unlocked;
	}
	if (copy_from_user(buf, ubuf, len)) {
		ret = -EFAULT;
		goto reject_unlocked;
	}
	buf[len] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	for (i = 0; i < n; i++) {
		if (buf[i] != '\t' && (buf[i] < 0x20 || buf[i] > 0x7e)) {
			ret = -EINVAL;
			goto reject_unlocked;
		}
	}
	ret = mutex_lock_interruptible(&ct_lock);
	if (ret)
		return ret;
	ret = run_command(buf);
	/* a failed allocation is logged as op=alloc ... err=; everything else as a reject */
	if (ret && ret != -ENOMEM)
		pr_info("v1 op=reject err=%d len=%zu\n", ret, len);
	mutex_unlock(&ct_lock);
	return ret ? ret : (ssize_t)len;

reject_unlocked:
	mutex_lock(&ct_lock);
	pr_info("v1 op=reject err=%d len=%zu\n", ret, len);
	mutex_unlock(&ct_lock);
	return ret;
}

/*
 * Legacy protocol: a read frees the oldest allocation and returns its id as a
 * line; a second read on the same open file returns 0 (EOF), so `cat` frees one.
 * With nothing to free the read returns 0.
 */
static ssize_t ct_read(struct file *file, char __user *ubuf, size_t len, loff_t *ppos)
{
	char out[32];
	struct ct_alloc *a;
	u64 id;
	int n, ret;

	if (*ppos > 0)
		return 0;
	ret = mutex_lock_interruptible(&ct_lock);
	if (ret)
		return ret;
	if (list_empty(&ct_allocs)) {
		mutex_unlock(&ct_lock);
		return 0;
	}
	a = list_first_entry(&ct_allocs, struct ct_alloc, node);
	id = a->id;
	do_free_one(a);
	mutex_unlock(&ct_lock);
	n = scnprintf(out, sizeof(out), "%llu\n", id);
	if ((size_t)n > len)
		n = len;
	if (copy_to_user(ubuf, out, n))
		return -EFAULT;
	*ppos += n;
	return n;
}

static const struct file_operations ct_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.read = ct_read,
	.write = ct_write,
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
	.llseek = no_llseek,
#endif
};

static struct miscdevice ct_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = DRV_NAME,
	.fops = &ct_fops,
	.mode = 0600,
};

static int __init ct_init(void)
{
	int ret;

	if (cma_size && (cma_base + cma_size < cma_base))
		return -EINVAL;
	if (node != NUMA_NO_NODE && (node < 0 || node >= MAX_NUMNODES || !node_online(node)))
		return -EINVAL;
	ct_pdev = platform_device_register_simple(DRV_NAME, PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(ct_pdev))
		return PTR_ERR(ct_pdev);
	ct_dev = &ct_pdev->dev;
	/* dev_to_node() picks the per-node area (kernel/dma/contiguous.c, 6.1+) */
	if (node != NUMA_NO_NODE)
		set_dev_node(ct_dev, node);
	ret = dma_set_mask_and_coherent(ct_dev, DMA_BIT_MASK(64));
	if (ret)
		goto err_pdev;
	ct_misc.parent = ct_dev;
	ret = misc_register(&ct_misc);
	if (ret)
		goto err_pdev;
	/* node= only when given: the line of a node-less device stays as it always was */
	if (node == NUMA_NO_NODE)
		pr_info("loaded: cma_base=0x%llx cma_size=0x%llx page_size=%lu cma_alignment=%d\n",
			cma_base, cma_size, PAGE_SIZE, CT_CMA_ALIGNMENT);
	else
		pr_info("loaded: cma_base=0x%llx cma_size=0x%llx page_size=%lu cma_alignment=%d node=%d\n",
			cma_base, cma_size, PAGE_SIZE, CT_CMA_ALIGNMENT, dev_to_node(ct_dev));
	return 0;

err_pdev:
	platform_device_unregister(ct_pdev);
	return ret;
}

static void __exit ct_exit(void)
{
	misc_deregister(&ct_misc);
	mutex_lock(&ct_lock);
	do_free_all();
	if (ct_nhog)
		do_unhog();
	mutex_unlock(&ct_lock);
	platform_device_unregister(ct_pdev);
	pr_info("unloaded\n");
}

module_init(ct_init);
module_exit(ct_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("cmasim");
MODULE_DESCRIPTION("CMA test driver: allocate and free through the DMA API, one log line per operation");
