export interface FieldError {
  field: string;
  problem: string;
}

/** A refusal or failure in words, with each broken field named; never a blank screen. */
export function ErrorBanner({ title, detail, errors = [] }: { title: string; detail?: string; errors?: FieldError[] }) {
  return (
    <div role="alert" className="rounded-md border border-danger bg-danger-soft p-3 text-sm text-danger">
      <div className="font-semibold">{title}</div>
      {detail && <div>{detail}</div>}
      {errors.length > 0 && (
        <ul className="mt-1 list-disc pl-5">
          {errors.map((e) => (
            <li key={`${e.field}:${e.problem}`}>
              <code>{e.field}</code>: {e.problem}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
