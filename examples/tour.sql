-- A short tour of the fa demo shop (load demo-schema.sql and demo-data.sql first).
-- Plain SQL, one statement per step, each result a handful of rows.

-- How many rows each table holds
SELECT 'customers' AS table_name, count(*) AS row_count FROM shop.customers
UNION ALL SELECT 'products',    count(*) FROM shop.products
UNION ALL SELECT 'orders',      count(*) FROM shop.orders
UNION ALL SELECT 'order_items', count(*) FROM shop.order_items
ORDER BY row_count;

-- Orders by status, with each status's share of all orders
SELECT status,
       count(*) AS orders,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
FROM shop.orders
GROUP BY status
ORDER BY orders DESC;

-- UTF-8 round trip: the hand-picked customers with non-ASCII names
SELECT id, name, email, country, length(name) AS chars, octet_length(name) AS bytes
FROM shop.customers
WHERE id <= 8
ORDER BY id;

-- Top 5 customers by revenue (cancelled and refunded orders excluded)
SELECT c.id, c.name, c.country,
       count(*)     AS orders,
       sum(o.total) AS revenue
FROM shop.customers c
JOIN shop.orders o ON o.customer_id = c.id
WHERE o.status NOT IN ('cancelled', 'refunded')
GROUP BY c.id
ORDER BY revenue DESC
LIMIT 5;

-- Sales per category: a three-table join with aggregates
SELECT p.category,
       count(DISTINCT o.id)                    AS orders,
       sum(i.qty)                              AS units,
       sum(i.qty * i.unit_price)               AS revenue,
       round(avg(i.unit_price), 2)             AS avg_unit_price
FROM shop.order_items i
JOIN shop.products p ON p.id = i.product_id
JOIN shop.orders o   ON o.id = i.order_id
WHERE o.status NOT IN ('cancelled', 'refunded')
GROUP BY p.category
ORDER BY revenue DESC;

-- Monthly revenue for the last six full months of data, with month-over-month change (lag window)
SELECT to_char(month, 'YYYY-MM') AS month,
       revenue,
       round(100 * (revenue / lag(revenue) OVER (ORDER BY month) - 1), 1) AS change_pct
FROM (
    SELECT date_trunc('month', placed_at) AS month, sum(total) AS revenue
    FROM shop.orders
    WHERE status NOT IN ('cancelled', 'refunded')
      AND placed_at >= date_trunc('month', (SELECT max(placed_at) FROM shop.orders)) - interval '7 months'
      AND placed_at <  date_trunc('month', (SELECT max(placed_at) FROM shop.orders))
    GROUP BY 1
) m
ORDER BY month DESC
LIMIT 6;

-- Best seller of each category by units sold (row_number window)
SELECT category, sku, name, units
FROM (
    SELECT p.category, p.sku, p.name, sum(i.qty) AS units,
           row_number() OVER (PARTITION BY p.category ORDER BY sum(i.qty) DESC, p.id) AS rank
    FROM shop.order_items i
    JOIN shop.products p ON p.id = i.product_id
    GROUP BY p.id
) ranked
WHERE rank = 1
ORDER BY units DESC;

-- Arrays: the most common product tags (unnest)
SELECT tag, count(*) AS products
FROM shop.products, unnest(tags) AS tag
GROUP BY tag
ORDER BY products DESC, tag
LIMIT 6;

-- Arrays: in-stock products tagged both 'wireless' and 'sale' (@> can use the GIN index)
SELECT sku, name, price, stock, tags
FROM shop.products
WHERE tags @> ARRAY['wireless', 'sale'] AND stock > 0
ORDER BY price DESC
LIMIT 5;

-- jsonb: wireless electronics by brand, reading fields with ->> and testing with @>
SELECT attrs ->> 'brand' AS brand,
       count(*) AS products,
       min((attrs ->> 'battery_mah')::int) AS min_battery_mah,
       max((attrs ->> 'battery_mah')::int) AS max_battery_mah,
       round(avg((attrs ->> 'warranty_months')::int), 1) AS avg_warranty_months
FROM shop.products
WHERE attrs @> '{"wireless": true}'
GROUP BY 1
ORDER BY products DESC;

-- jsonb: one order as a JSON document, the kind of thing an HTTP API returns
SELECT jsonb_pretty(jsonb_build_object(
           'order_id', o.id,
           'customer', jsonb_build_object('id', c.id, 'name', c.name, 'email', c.email),
           'status',   o.status,
           'total',    o.total,
           'items',    (SELECT jsonb_agg(jsonb_build_object('sku', p.sku, 'qty', i.qty,
                                                            'unit_price', i.unit_price)
                                         ORDER BY p.sku)
                        FROM shop.order_items i
                        JOIN shop.products p ON p.id = i.product_id
                        WHERE i.order_id = o.id))) AS order_json
FROM shop.orders o
JOIN shop.customers c ON c.id = o.customer_id
WHERE o.id = 42;

-- Running total of one customer's orders (sum window)
SELECT o.id AS order_id, o.placed_at::date AS placed_on, o.status, o.total,
       sum(o.total) OVER (ORDER BY o.placed_at, o.id) AS running_total
FROM shop.orders o
WHERE o.customer_id = 1
ORDER BY o.placed_at, o.id
LIMIT 6;

-- Report: revenue by country over the data's last 12 months, with repeat-customer rate
SELECT coalesce(c.country, '??') AS country,
       count(DISTINCT c.id)      AS customers,
       count(*)                  AS orders,
       sum(o.total)              AS revenue,
       round(avg(o.total), 2)    AS avg_order,
       round(100.0 * count(DISTINCT c.id) FILTER (WHERE r.orders > 1)
             / count(DISTINCT c.id), 1) AS repeat_pct
FROM shop.orders o
JOIN shop.customers c ON c.id = o.customer_id
JOIN (SELECT customer_id, count(*) AS orders
      FROM shop.orders
      WHERE placed_at >= (SELECT max(placed_at) FROM shop.orders) - interval '12 months'
      GROUP BY customer_id) r ON r.customer_id = c.id
WHERE o.placed_at >= (SELECT max(placed_at) FROM shop.orders) - interval '12 months'
  AND o.status NOT IN ('cancelled', 'refunded')
GROUP BY 1
ORDER BY revenue DESC
LIMIT 6;

-- Sanity check through the view: every order's total matches its items
SELECT count(*) AS orders,
       count(*) FILTER (WHERE total <> items_total) AS mismatched,
       sum(line_count) AS lines,
       sum(units) AS units
FROM shop.order_totals;
