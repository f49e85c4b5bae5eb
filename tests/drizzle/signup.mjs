// Drizzle-shaped signup traffic for the tests: a user and its profile, N times, through a
// node-postgres Pool, either as two separate writes (WRAP=0) or in db.transaction (WRAP=1),
// then OTHER read-only transactions.
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { integer, pgTable, serial, text } from "drizzle-orm/pg-core";

const users = pgTable("users", { id: serial("id").primaryKey(), name: text("name").notNull() });
const profiles = pgTable("profiles", {
  id: serial("id").primaryKey(),
  userId: integer("user_id").notNull().references(() => users.id),
  bio: text("bio"),
});

const pool = new pg.Pool({ connectionString: process.env.DSN, max: 4 });
const db = drizzle(pool);
const count = Number(process.env.N ?? "150");
const wrap = process.env.WRAP === "1";
for (let i = 0; i < count; i++) {
  if (wrap) {
    await db.transaction(async (tx) => {
      const [user] = await tx.insert(users).values({ name: `user ${i}` }).returning();
      await tx.insert(profiles).values({ userId: user.id, bio: "hello" });
    });
  } else {
    const [user] = await db.insert(users).values({ name: `user ${i}` }).returning();
    await db.insert(profiles).values({ userId: user.id, bio: "hello" });
  }
}
// Other work in transactions of its own (reads), as most applications have some.
for (let i = 0; i < Number(process.env.OTHER ?? "0"); i++) {
  await db.transaction(async (tx) => {
    await tx.select().from(users).limit(1);
  });
}
await pool.end();
