/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-connection-list.c: the server's connections as a GListModel
 *
 * Copyright 2026 The libtcp authors
 *
 * See tcp-connection-list-private.h. Items are appended in the order the
 * connections reached the queue; a connection that went away stays in the
 * list, marked, until the tracker's next flush removes it and announces it.
 * Between the two, get_item() still returns it while it is alive, and
 * %NULL once it has been finalized in another thread.
 */

#include "config.h"

#include "tcp-connection-list-private.h"

struct _TcpListNode
{
  GWeakRef item;
  gboolean gone;
};

struct _TcpConnectionList
{
  GObject               parent_instance;

  GPtrArray            *nodes;     /* TcpListNode *, in model order */
  TcpConnectionListGone on_finalize; /* tells the owner, which the list holds */
  gpointer              owner;
  GIOStream            *gone;      /* stands in for a finalized item; made on demand */
};

static GType
tcp_connection_list_get_item_type (GListModel *model)
{
  return G_TYPE_IO_STREAM;
}

static guint
tcp_connection_list_get_n_items (GListModel *model)
{
  return TCP_CONNECTION_LIST (model)->nodes->len;
}

/* A closed stream with nothing in it. */
static GIOStream *
gone_stream (TcpConnectionList *self)
{
  if (self->gone == NULL)
    {
      g_autoptr(GInputStream) in = g_memory_input_stream_new ();
      g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();

      self->gone = g_simple_io_stream_new (in, out);
      g_io_stream_close (self->gone, NULL, NULL);
    }

  return g_object_ref (self->gone);
}

static gpointer
tcp_connection_list_get_item (GListModel *model,
                              guint       position)
{
  TcpConnectionList *self = TCP_CONNECTION_LIST (model);
  GIOStream *item;

  if (position >= self->nodes->len)
    return NULL;

  item = g_weak_ref_get (&((TcpListNode *) g_ptr_array_index (self->nodes, position))->item);
  return item != NULL ? item : gone_stream (self);
}

static void
tcp_connection_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = tcp_connection_list_get_item_type;
  iface->get_n_items = tcp_connection_list_get_n_items;
  iface->get_item = tcp_connection_list_get_item;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (TcpConnectionList, tcp_connection_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      tcp_connection_list_model_init))

static void
node_free (TcpListNode *node)
{
  g_weak_ref_clear (&node->item);
  g_free (node);
}

static void
tcp_connection_list_finalize (GObject *object)
{
  TcpConnectionList *self = TCP_CONNECTION_LIST (object);

  self->on_finalize (self->owner, self);
  g_clear_object (&self->gone);
  g_ptr_array_unref (self->nodes);

  G_OBJECT_CLASS (tcp_connection_list_parent_class)->finalize (object);
}

static void
tcp_connection_list_class_init (TcpConnectionListClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tcp_connection_list_finalize;
}

static void
tcp_connection_list_init (TcpConnectionList *self)
{
  self->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) node_free);
}

/* A list that @owner fills (the connection tracker, which holds no
 * reference to it); @gone tells @owner when the list is finalized, and
 * drops the reference to @owner that the list was given. */
TcpConnectionList *
tcp_connection_list_new (TcpConnectionListGone gone,
                         gpointer              owner)
{
  TcpConnectionList *self = g_object_new (TCP_TYPE_CONNECTION_LIST, NULL);

  self->on_finalize = gone;
  self->owner = owner;
  return self;
}

/* Appends @item without announcing it: the caller emits items-changed once
 * it holds no lock. */
TcpListNode *
tcp_connection_list_push (TcpConnectionList *self,
                          GIOStream         *item)
{
  TcpListNode *node = g_new0 (TcpListNode, 1);

  g_weak_ref_init (&node->item, item);
  g_ptr_array_add (self->nodes, node);
  return node;
}

/* Under the tracker's lock, from any thread. */
void
tcp_list_node_mark_gone (TcpListNode *node)
{
  node->gone = TRUE;
}

/* Under the tracker's lock, in the server's thread: appends to @removals
 * the runs of nodes marked gone, last run first. Nobody else refers to
 * those nodes any more (the tracker forgets a node when it marks it). */
void
tcp_connection_list_find_gone (TcpConnectionList *self,
                               GArray            *removals)
{
  guint i = self->nodes->len;

  while (i > 0)
    {
      TcpListRemoval run = { .removed = 0 };

      while (i > 0 && !((TcpListNode *) g_ptr_array_index (self->nodes, i - 1))->gone)
        i--;
      while (i > 0 && ((TcpListNode *) g_ptr_array_index (self->nodes, i - 1))->gone)
        {
          run.removed++;
          i--;
        }
      if (run.removed > 0)
        {
          run.position = i;
          g_array_append_val (removals, run);
        }
    }
}

/* In the server's thread, without the tracker's lock: removes @removals
 * (from tcp_connection_list_find_gone()) one run at a time, announcing
 * each, so that the list is what items-changed says at every emission. */
void
tcp_connection_list_remove (TcpConnectionList *self,
                            GArray            *removals)
{
  for (guint r = 0; r < removals->len; r++)
    {
      TcpListRemoval *run = &g_array_index (removals, TcpListRemoval, r);

      g_ptr_array_remove_range (self->nodes, run->position, run->removed);
      g_list_model_items_changed (G_LIST_MODEL (self), run->position, run->removed, 0);
    }
}

/* Announces the last @n_added items tcp_connection_list_push() appended. */
void
tcp_connection_list_announce_appended (TcpConnectionList *self,
                                       guint              n_added)
{
  g_list_model_items_changed (G_LIST_MODEL (self), self->nodes->len - n_added, 0, n_added);
}
