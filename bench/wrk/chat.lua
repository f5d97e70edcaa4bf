wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"fake-model","messages":[{"role":"system","content":"You are a helpful assistant that answers briefly and precisely."},{"role":"user","content":"Explain in one paragraph what an LLM gateway does and why teams put one in front of their model providers, with an example."}],"temperature":0.7,"max_tokens":256,"user":"bench"}'
