// No CDN: a small renderer of the document the portal serves.
const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
    return node;
};
const refName = ref => ref.split("/").pop();
const typeOf = s => {
    if (!s) return "";
    if (s.$ref) return refName(s.$ref);
    const t = Array.isArray(s.type) ? s.type.filter(x => x !== "null").join(" | ") + (s.type.includes("null") ? "?" : "") : (s.type ?? "");
    if (s.items) return `${typeOf(s.items)}[]`;
    if (s.oneOf || s.anyOf) return (s.oneOf ?? s.anyOf).map(typeOf).filter(Boolean).join(" | ");
    return s.format ? `${t} (${s.format})` : t;
};
const schemaTable = schema => {
    const table = el("table", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, "type")));
    for (const [name, prop] of Object.entries(schema.properties ?? {})) {
        table.append(el("tr", {}, el("td", {}, el("code", {}, name)), el("td", {}, typeOf(prop))));
    }
    return table;
};

fetch("/openapi/v1.json").then(r => r.json()).then(doc => {
    document.getElementById("description").textContent = doc.info?.description ?? "";
    const scheme = Object.values(doc.components?.securitySchemes ?? {})[0];
    const flow = scheme?.flows?.clientCredentials;
    if (flow) {
        const table = el("table", {}, el("tr", {}, el("th", {}, "scope"), el("th", {}, "allows")));
        for (const [scope, text] of Object.entries(flow.scopes ?? {})) table.append(el("tr", {}, el("td", {}, el("span", { class: "scope" }, scope)), el("td", {}, text)));
        document.getElementById("scopes").append(el("p", {}, "Token URL: ", el("code", {}, flow.tokenUrl)), table);
    }

    const byTag = {};
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
        for (const [method, op] of Object.entries(item)) {
            if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
            (byTag[op.tags?.[0] ?? "Other"] ??= []).push({ path, method, op });
        }
    }
    const root = document.getElementById("operations");
    for (const [tag, ops] of Object.entries(byTag)) {
        root.append(el("h2", {}, tag));
        for (const { path, method, op } of ops) {
            const scopes = (op.security ?? []).flatMap(req => Object.values(req).flat());
            const body = el("div", { class: "body" });
            if (op.description) body.append(el("p", {}, op.description));
            if (scopes.length) body.append(el("p", {}, "Requires ", ...scopes.map(s => el("span", { class: "scope" }, s))));
            if (op.parameters?.length) {
                const table = el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, "type"), el("th", {}, "description")));
                for (const p of op.parameters) table.append(el("tr", {}, el("td", {}, el("code", {}, p.name + (p.required ? "" : "?"))), el("td", {}, p.in), el("td", {}, typeOf(p.schema)), el("td", {}, p.description ?? "")));
                body.append(el("h4", {}, "Parameters"), table);
            }
            const request = op.requestBody?.content?.["application/json"]?.schema;
            if (request) body.append(el("h4", {}, "Request body"), el("p", {}, el("code", {}, typeOf(request))));
            const responses = el("table", {}, el("tr", {}, el("th", {}, "status"), el("th", {}, "content")));
            for (const [status, res] of Object.entries(op.responses ?? {})) {
                const content = Object.entries(res.content ?? {}).map(([type, c]) => `${type} ${typeOf(c.schema)}`).join(", ");
                responses.append(el("tr", {}, el("td", {}, status), el("td", {}, content || res.description || "")));
            }
            body.append(el("h4", {}, "Responses"), responses);
            root.append(el("details", { class: "op" },
                el("summary", {}, el("span", { class: `method ${method}` }, method.toUpperCase()), el("code", {}, path), el("span", { class: "muted" }, op.summary ?? "")),
                body));
        }
    }

    const schemas = document.getElementById("schemas");
    for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
        schemas.append(el("h3", { id: `schema-${name}` }, name), schemaTable(schema));
    }
}).catch(e => { document.getElementById("description").textContent = `Could not load the OpenAPI document: ${e}`; });
