// The sample application's schema (advisor/demo/sample.py) as its Drizzle project declares it.
// It mixes the styles pg-advisor has to read: explicit SQL names (`integer('post_id')`),
// names from the config's `casing: 'snake_case'` (`authorId: integer()`), a table with an
// index callback under another parameter name, and tables without one.
import { bigserial, index, integer, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';

export const organizations = pgTable('organizations', {
  id: serial().primaryKey(),
  name: text().notNull(),
  plan: text().notNull().default('free'),
});

export const users = pgTable('users', {
  id: serial('id').primaryKey(),
  organizationId: integer('organization_id')
    .notNull()
    .references(() => organizations.id),
  email: text('email').notNull().unique(),
  displayName: text('display_name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const posts = pgTable("posts", {
  id: serial().primaryKey(),
  authorId: integer()
    .notNull()
    .references(() => users.id),
  title: text().notNull(),
  body: text().notNull(),
  status: text().notNull().default("draft"),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

export const comments = pgTable(
  'comments',
  {
    id: serial().primaryKey(),
    postId: integer('post_id')
      .notNull()
      .references(() => posts.id),
    authorId: integer('author_id')
      .notNull()
      .references(() => users.id),
    body: text().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('comments_created_at_idx').on(t.createdAt)],
);

export const orders = pgTable('orders', {
  id: bigserial({ mode: 'number' }).primaryKey(),
  organizationId: integer('organization_id')
    .notNull()
    .references(() => organizations.id),
  status: text().notNull(),
  totalCents: integer('total_cents').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});
