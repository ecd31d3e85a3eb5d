/* echo_srcmap: connections per source (see echo_srcmap.h). */
#include "echo_srcmap.h"

#include <errno.h>
#include <stdlib.h>

#define MIN_CAP 256

/* The slot of key, or of the free slot where it would go. */
static size_t find(const struct echo_srcmap *m, uint64_t key)
{
	size_t mask = m->cap - 1, i = (size_t)(key ^ (key >> 32)) & mask;

	while (m->t[i].count != 0 && m->t[i].key != key)
		i = (i + 1) & mask;
	return i;
}

static int grow(struct echo_srcmap *m)
{
	struct echo_srcmap g = { .cap = m->cap ? 2 * m->cap : MIN_CAP, .n = m->n };

	g.t = calloc(g.cap, sizeof *g.t);
	if (g.t == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->t[i].count != 0)
			g.t[find(&g, m->t[i].key)] = m->t[i];
	free(m->t);
	*m = g;
	return 0;
}

int echo_srcmap_add(struct echo_srcmap *m, uint64_t key, uint32_t max)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap && grow(m) != 0)
		return -ENOMEM;
	i = find(m, key);
	if (max != 0 && m->t[i].count >= max)
		return -EUSERS;         /* a held source: a new one has 0 < max */
	if (m->t[i].count == 0) {
		m->t[i].key = key;
		m->n++;
	}
	m->t[i].count++;
	return 0;
}

void echo_srcmap_del(struct echo_srcmap *m, uint64_t key)
{
	size_t mask, i, j;

	if (m->cap == 0)
		return;
	mask = m->cap - 1;
	i = find(m, key);
	if (m->t[i].count == 0 || --m->t[i].count > 0)
		return;
	/* backward shift: later entries of the run move into the hole */
	m->n--;
	for (j = (i + 1) & mask; m->t[j].count != 0; j = (j + 1) & mask) {
		size_t home = (size_t)(m->t[j].key ^ (m->t[j].key >> 32)) & mask;
		/* move j to i when its home is not cyclically within (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->t[i] = m->t[j];
			m->t[j].count = 0;
			i = j;
		}
	}
}

uint32_t echo_srcmap_count(const struct echo_srcmap *m, uint64_t key)
{
	return m->cap ? m->t[find(m, key)].count : 0;
}

void echo_srcmap_free(struct echo_srcmap *m)
{
	free(m->t);
	*m = (struct echo_srcmap){ NULL, 0, 0 };
}
