-- fa demo routes over the shop schema (examples/demo-schema.sql).
--
-- Each statement below is annotated once and served twice: as an HTTP
-- route by fa-serve and, where it has a "tool:" line, as a tool by
-- fa-mcp.  The format is described in fa-sql(5).
--
--   fa-serve examples/routes/
--   curl 'localhost:8080/products?category=Books&limit=5'

-- Products, cheapest first, optionally of one category.
-- name: products
-- route: GET /products
-- tool: List products, cheapest first, optionally of one category
-- param: category text = null  Only this category, e.g. Books or Electronics
-- param: limit int = 50  How many products at most
-- limit: 1000
-- cache: 30s
SELECT id, sku, name, category, price, stock, tags
  FROM shop.products
 WHERE :category IS NULL OR category = :category
 ORDER BY price, id
 LIMIT :limit;

-- One product with all its attributes; 404 when there is none.
-- name: product
-- route: GET /products/:id
-- tool: Fetch one product by id
-- param: id bigint  The product's id
-- returns: one
-- cache: etag
SELECT id, sku, name, category, price, stock, tags, attrs
  FROM shop.products
 WHERE id = :id;

-- A customer's orders, newest first, with their line counts.
-- name: customer_orders
-- route: GET /customers/:id/orders
-- tool: List a customer's orders, newest first
-- param: id bigint  The customer's id
-- param: status text = null  Only orders in this status, e.g. pending
-- limit: 500
SELECT order_id AS id, status, placed_at, line_count, units, total
  FROM shop.order_totals
 WHERE customer_id = :id
   AND (:status IS NULL OR status = :status)
 ORDER BY placed_at DESC, order_id DESC;

-- One order with its lines; 404 when there is none.
-- name: order
-- route: GET /orders/:id
-- tool: Fetch one order with its lines
-- param: id bigint  The order's id
-- returns: one
SELECT o.id, o.customer_id, o.status, o.placed_at, o.total,
       coalesce(jsonb_agg(jsonb_build_object(
                    'product_id', i.product_id, 'name', p.name,
                    'qty', i.qty, 'unit_price', i.unit_price)
                ORDER BY i.product_id) FILTER (WHERE i.product_id IS NOT NULL),
                '[]') AS items
  FROM shop.orders o
  LEFT JOIN shop.order_items i ON i.order_id = o.id
  LEFT JOIN shop.products p ON p.id = i.product_id
 WHERE o.id = :id
 GROUP BY o.id;

-- Places an order: the order, its lines at today's prices, and the stock
-- taken, all in one statement and so in one transaction.  An unknown
-- product, a product listed twice or too little stock fails it whole;
-- an empty list places nothing.
-- name: create_order
-- route: POST /orders
-- param: customer_id bigint  Who orders
-- param: items jsonb  The lines, as [{"product_id": 7, "qty": 2}, ...]
-- returns: one
-- timeout: 5s
WITH wanted AS (
    SELECT w.product_id, w.qty, p.price
      FROM jsonb_to_recordset(:items) AS w(product_id bigint, qty int)
      LEFT JOIN shop.products p ON p.id = w.product_id
), placed AS (
    INSERT INTO shop.orders (customer_id, total)
    SELECT :customer_id, sum(qty * price) FROM wanted HAVING count(*) > 0
    RETURNING id, customer_id, status, placed_at, total
), lines AS (
    INSERT INTO shop.order_items (order_id, product_id, qty, unit_price)
    SELECT placed.id, wanted.product_id, wanted.qty, wanted.price
      FROM placed, wanted
), taken AS (
    UPDATE shop.products p
       SET stock = p.stock - wanted.qty
      FROM wanted
     WHERE p.id = wanted.product_id
)
SELECT id, customer_id, status, placed_at, total FROM placed;

-- Sets a product's stock; 404 when there is no such product.
-- name: update_stock
-- route: PATCH /products/:id/stock
-- param: id bigint  The product's id
-- param: stock int  Units now in the warehouse
-- returns: one
UPDATE shop.products
   SET stock = :stock
 WHERE id = :id
RETURNING id, sku, stock;

-- Moves an order to a new status and tells the listeners of
-- order_status (see order_events).
-- name: set_order_status
-- route: PATCH /orders/:id/status
-- param: id bigint  The order's id
-- param: status text  pending, paid, shipped, delivered, cancelled or refunded
-- returns: one
WITH changed AS (
    UPDATE shop.orders SET status = :status
     WHERE id = :id
    RETURNING id, status
)
SELECT changed.id, changed.status
  FROM changed,
       LATERAL (SELECT pg_notify('order_status',
                                 jsonb_build_object('id', changed.id,
                                                    'status', changed.status)::text)) AS n;

-- Deletes an order that is still pending, with its lines.
-- name: delete_order
-- route: DELETE /orders/:id
-- param: id bigint  The order's id
-- returns: none
DELETE FROM shop.orders
 WHERE id = :id AND status = 'pending';

-- Every order since a point in time, streamed as it is read: memory does
-- not grow with the number of orders.
-- name: export_orders
-- route: GET /orders/export
-- param: since timestamptz = null  Only orders placed at or after this time
-- returns: stream
-- timeout: 5min
SELECT o.id, o.customer_id, c.email, o.status, o.placed_at, o.total
  FROM shop.orders o
  JOIN shop.customers c ON c.id = o.customer_id
 WHERE :since IS NULL OR o.placed_at >= :since
 ORDER BY o.id;

-- Order status changes as server-sent events, one per NOTIFY on
-- order_status (set_order_status sends them).
-- name: order_events
-- route: GET /orders/events
-- listen: order_status

-- The newest orders, then each order as it is placed (a trigger on
-- shop.orders NOTIFYs order_placed with the same columns): over a WebSocket
-- the rows are the first message and each notification one more; as
-- Server-Sent Events, the "snapshot" event and then "order_placed" events.
-- The live page of examples/www reads it.
-- name: orders_live
-- route: GET /orders/live
-- listen: order_placed
SELECT id, customer_id, status, placed_at, total
  FROM shop.orders
 ORDER BY id DESC
 LIMIT 20;
