-- One psql session, run by compat/pg.sh against PostgreSQL 15 and against cairn; the two
-- outputs are compared line by line. DDL, DML, queries, the \d family, \copy and errors.
\set ON_ERROR_STOP 0
\pset pager off

-- Tables, keys, defaults, constraints
CREATE TABLE customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    email varchar(64) UNIQUE,
    city text DEFAULT 'Paris',
    joined date NOT NULL DEFAULT '2024-01-01'
);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    amount numeric NOT NULL CHECK (amount >= 0),
    status text NOT NULL DEFAULT 'new',
    placed_at timestamp NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX orders_placed ON orders (placed_at DESC);
CREATE UNIQUE INDEX customers_lower_name ON customers (name);
CREATE VIEW big_orders AS SELECT id, customer_id, amount FROM orders WHERE amount > 100;
CREATE SEQUENCE invoice_numbers START 1000;

INSERT INTO customers (name, email, city) VALUES
    ('Ada', 'ada@example.com', 'London'),
    ('Grace', 'grace@example.com', 'New York'),
    ('Edsger', NULL, 'Nuenen'),
    ('Barbara', 'barbara@example.com', DEFAULT);
INSERT INTO orders VALUES
    (1, 1, 250.00, 'shipped', '2024-03-01 10:00'),
    (2, 1, 19.99, 'new', '2024-03-02 11:30'),
    (3, 2, 120.50, 'shipped', '2024-03-05 09:15'),
    (4, 3, 0, 'cancelled', '2024-03-06 17:45'),
    (5, 4, 999.95, 'new', '2024-03-07 08:00');

-- Queries
SELECT * FROM customers ORDER BY id;
SELECT c.name, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS total
  FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
  GROUP BY c.name ORDER BY total DESC, c.name;
SELECT status, count(*), avg(amount)::numeric(10,2) AS mean FROM orders GROUP BY status ORDER BY status;
SELECT name FROM customers WHERE id IN (SELECT customer_id FROM orders WHERE amount > 100) ORDER BY name;
SELECT id, amount, rank() OVER (ORDER BY amount DESC) FROM orders ORDER BY id;
SELECT * FROM big_orders ORDER BY id;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT sum(i) FROM n;
SELECT nextval('invoice_numbers'), nextval('invoice_numbers');
SELECT upper(name), length(name), city IS NULL AS no_city FROM customers ORDER BY 1;
SELECT date_trunc('month', placed_at) AS month, sum(amount) FROM orders GROUP BY 1 ORDER BY 1;
SELECT 7 / 2 AS int_div, 7 % 3 AS remainder, 7.0 / 2 AS num_div, 2 ^ 10 AS power;
SELECT NULL = NULL AS unknown, NULL IS NULL AS is_null, 'a' || NULL AS concat;
SELECT '{1,2,3}'::int[] AS arr, ARRAY['x', 'y'] AS texts, 2 = ANY (ARRAY[1, 2]) AS found;
SELECT string_agg(name, ', ' ORDER BY name) FROM customers;

-- Updates and deletes
UPDATE orders SET status = 'shipped' WHERE id = 2 RETURNING id, status;
DELETE FROM customers WHERE name = 'Edsger';
SELECT count(*) FROM orders;
INSERT INTO customers (name, email) VALUES ('Ada', 'x@example.com')
    ON CONFLICT (name) DO UPDATE SET email = excluded.email RETURNING name, email;

-- Errors
SELECT * FROM missing_table;
SELECT missing_column FROM customers;
INSERT INTO customers (name, email) VALUES ('Alan', 'ada@example.com');
INSERT INTO orders VALUES (9, 42, 1, 'new', '2024-04-01 12:00');
INSERT INTO orders VALUES (10, 1, -5, 'new', '2024-04-01 12:00');
INSERT INTO customers (email) VALUES ('nobody@example.com');
SELECT 1 / 0;
SELECT 'abc'::integer;
SELECT 2147483647::integer + 1;
SELEC 1;
SELECT lower(42);
SELECT 'a'::text + 1;
SELECT nosuch_function('x');

-- Transactions
BEGIN;
INSERT INTO customers (name) VALUES ('Temp');
SELECT 1 / 0;
SELECT count(*) FROM customers;
ROLLBACK;
SELECT count(*) FROM customers WHERE name = 'Temp';

-- \copy out and in
\copy (SELECT id, name, city FROM customers ORDER BY id) TO 'customers.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE customers_copy (id integer, name text, city text);
\copy customers_copy FROM 'customers.csv' WITH (FORMAT csv, HEADER)
SELECT * FROM customers_copy ORDER BY id;
\copy customers_copy FROM 'customers.csv' WITH (FORMAT csv)

-- The \d family
\d
\dt
\di
\dv
\ds
\dn
\du
\l
\d customers
\d orders
\d big_orders
\d invoice_numbers
\d orders_placed
\d nosuchthing
\conninfo

-- information_schema and pg_catalog
SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1;
SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
    WHERE table_name = 'orders' ORDER BY ordinal_position;
SELECT constraint_name, constraint_type FROM information_schema.table_constraints
    WHERE table_name = 'orders' AND constraint_type <> 'CHECK' ORDER BY 1;
SELECT kcu.column_name FROM information_schema.key_column_usage kcu
    WHERE kcu.constraint_name = 'orders_customer_id_fkey';
SELECT relname, relkind FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY relname;
SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'orders' ORDER BY 1;
SELECT current_database() = 'postgres' AS db, current_user, current_schema();
SELECT format_type('varchar'::regtype, 68), pg_get_serial_sequence('customers', 'id');
SELECT 'orders'::regclass, 'orders'::regclass::oid = (SELECT oid FROM pg_class WHERE relname = 'orders') AS same;
SHOW search_path;
SHOW statement_timeout;
