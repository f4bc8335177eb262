/* Offline stand-in for the jQuery and bootstrap-table calls of Great Expectations' Data Docs
   (inlined by expectations/report.py, which removes the CDN scripts): draws the index tables from the
   data embedded in the page, sorted as configured, with each row linking to its page. Other jQuery
   calls (tooltips, modals, event handlers) do nothing. */
(function () {
  function cellHtml(row, column, link, first) {
    var value = row[column.field];
    var html = value === undefined || value === null ? "" : String(value);
    if (first && link && html.indexOf("<a") === -1) {
      html = '<a href="' + link + '">' + html + "</a>";
    }
    return "<td>" + html + "</td>";
  }

  function sortKey(row, field) {
    var key = row["_" + field + "_sort"];
    return key === undefined ? String(row[field] || "") : key;
  }

  function drawTable(table, options) {
    var columns = options.columns || [];
    var rows = (options.data || []).slice();
    if (options.sortName) {
      var direction = options.sortOrder === "desc" ? -1 : 1;
      rows.sort(function (a, b) {
        var x = sortKey(a, options.sortName), y = sortKey(b, options.sortName);
        return x < y ? -direction : x > y ? direction : 0;
      });
    }
    var head = "<thead><tr>" + columns.map(function (c) { return "<th>" + (c.title || "") + "</th>"; }).join("") + "</tr></thead>";
    var body = rows.map(function (row) {
      var link = row._table_row_link_path;
      var cells = columns.map(function (c, i) { return cellHtml(row, c, link, i === 0 || c.field === "expectation_suite_name"); });
      return "<tr" + (link ? ' class="offline-row-link" data-href="' + link + '"' : "") + ">" + cells.join("") + "</tr>";
    }).join("");
    table.innerHTML = head + "<tbody>" + body + "</tbody>";
    table.addEventListener("click", function (event) {
      var row = event.target.closest("tr[data-href]");
      if (row && !event.target.closest("a")) { window.location = row.getAttribute("data-href"); }
    });
  }

  function wrap(elements) {
    var self = {
      bootstrapTable: function (options) {
        if (typeof options === "object") { elements.forEach(function (el) { drawTable(el, options); }); }
        return self;
      },
      prepend: function (html) {
        elements.forEach(function (el) { el.insertAdjacentHTML("afterbegin", html); });
        return self;
      },
      ready: function (fn) { document.addEventListener("DOMContentLoaded", fn); return self; },
      on: function () { return self; },
      modal: function () { return self; },
      tooltip: function () { return self; },
      popover: function () { return self; },
      collapse: function () { return self; },
      data: function () { return undefined; }
    };
    return self;
  }

  window.jQuery = window.$ = function (selector) {
    if (typeof selector === "function") { document.addEventListener("DOMContentLoaded", selector); return wrap([]); }
    if (typeof selector !== "string") { return wrap([]); }
    try { return wrap(Array.prototype.slice.call(document.querySelectorAll(selector))); }
    catch (error) { return wrap([]); }
  };
  window.vegaEmbed = function () { return Promise.resolve(); };
})();
